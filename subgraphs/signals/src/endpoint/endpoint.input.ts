import { IsInt, Length, Matches, Max, Min, ValidateIf, ValidateNested } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { LEVEL_PATTERN } from '../outcome/levels';

export const MIN_PASSPHRASE_LENGTH = 8;
export const MAX_PASSPHRASE_LENGTH = 200;
export const MAX_ENDPOINT_NAME_LENGTH = 100;
const NOT_BLANK = /\S/;
const present = (_object: unknown, value: unknown) => value !== null && value !== undefined;

@InputType('WebhookDefaultsInput', { description: 'Values a signal takes when its alert does not carry them.' })
export class WebhookDefaultsInput {
  @Field(() => String, { nullable: true, description: 'Exchange, e.g. BINANCE.' })
  @ValidateIf(present)
  @Matches(/^[A-Za-z0-9_.-]{1,50}$/, { message: 'defaults.exchange must be 1 to 50 letters, digits, ".", "_" or "-"' })
  exchange?: string | null;

  @Field(() => String, { nullable: true, description: 'Timeframe, e.g. 15m, 1h, 1d.' })
  @ValidateIf(present)
  @Matches(/^[1-9]\d{0,3}[smhdwM]$/, { message: 'defaults.timeframe must look like 15m, 4h or 1d' })
  timeframe?: string | null;

  @Field(() => String, { nullable: true, description: 'Indicator or strategy name.' })
  @ValidateIf(present)
  @Length(1, 100, { message: 'defaults.indicator must be 1 to 100 characters' })
  indicator?: string | null;

  @Field(() => String, { nullable: true, description: 'A price ("68000.5") or a distance from the entry in percent ("2.5%").' })
  @ValidateIf(present)
  @Matches(LEVEL_PATTERN, { message: 'defaults.takeProfit must be a price such as 68000.5 or a percent such as 2.5%' })
  takeProfit?: string | null;

  @Field(() => String, { nullable: true, description: 'A price or a distance from the entry in percent.' })
  @ValidateIf(present)
  @Matches(LEVEL_PATTERN, { message: 'defaults.stopLoss must be a price such as 65000 or a percent such as 1%' })
  stopLoss?: string | null;
}

@ArgsType()
export class CreateWebhookEndpointArgs {
  @Field(() => String, { description: `1 to ${MAX_ENDPOINT_NAME_LENGTH} characters.` })
  @Length(1, MAX_ENDPOINT_NAME_LENGTH, { message: `name must be 1 to ${MAX_ENDPOINT_NAME_LENGTH} characters` })
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  name!: string;

  @Field(() => WebhookDefaultsInput, { nullable: true })
  @ValidateIf(present)
  @ValidateNested()
  defaults?: WebhookDefaultsInput | null;

  @Field(() => String, {
    nullable: true,
    description: `When set (${MIN_PASSPHRASE_LENGTH} to ${MAX_PASSPHRASE_LENGTH} characters), every alert must carry it in its body (passphrase, secret, key or token).`,
  })
  @ValidateIf(present)
  @Length(MIN_PASSPHRASE_LENGTH, MAX_PASSPHRASE_LENGTH, { message: `passphrase must be ${MIN_PASSPHRASE_LENGTH} to ${MAX_PASSPHRASE_LENGTH} characters` })
  passphrase?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Accept only requests from TradingView\'s published webhook addresses (default false).' })
  tradingViewIpsOnly?: boolean | null;
}

@ArgsType()
export class UpdateWebhookEndpointArgs {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  @ValidateIf(present)
  @Length(1, MAX_ENDPOINT_NAME_LENGTH, { message: `name must be 1 to ${MAX_ENDPOINT_NAME_LENGTH} characters` })
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  name?: string | null;

  @Field(() => WebhookDefaultsInput, { nullable: true, description: 'Replaces every default.' })
  @ValidateIf(present)
  @ValidateNested()
  defaults?: WebhookDefaultsInput | null;

  @Field(() => String, { nullable: true, description: 'A new passphrase; an empty string removes it.' })
  @ValidateIf((_object, value) => value !== null && value !== undefined && value !== '')
  @Length(MIN_PASSPHRASE_LENGTH, MAX_PASSPHRASE_LENGTH, { message: `passphrase must be ${MIN_PASSPHRASE_LENGTH} to ${MAX_PASSPHRASE_LENGTH} characters` })
  passphrase?: string | null;

  @Field(() => Boolean, { nullable: true })
  tradingViewIpsOnly?: boolean | null;
}

@ArgsType()
export class WebhookRefusalsArgs {
  @Field(() => ID, { nullable: true, description: 'One endpoint of the viewer\'s; omitted: every refusal, ADMIN only (unknown tokens included).' })
  endpointId?: string | null;

  @Field(() => Int, { nullable: true, description: 'Newest first, 1 to 200 (default 50).' })
  @ValidateIf(present)
  @IsInt()
  @Min(1, { message: 'first must be at least 1' })
  @Max(200, { message: 'first must be at most 200' })
  first?: number | null;
}

