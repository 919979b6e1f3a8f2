import { IsInt, Max, MaxLength, Min, ValidateIf, ValidateNested } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { SignalAction, SignalResult } from './signal.type';

export const DEFAULT_SIGNALS_PAGE = 20;
export const MAX_NOTES_LENGTH = 2_000;
const present = (_object: unknown, value: unknown) => value !== null && value !== undefined;

@InputType('SignalFilter')
export class SignalFilter {
  @Field(() => String, { nullable: true, description: 'ccxt unified symbol, e.g. BTC/USDT.' })
  @ValidateIf(present)
  @MaxLength(100)
  symbol?: string | null;

  @Field(() => SignalAction, { nullable: true })
  action?: SignalAction | null;

  @Field(() => SignalResult, { nullable: true })
  result?: SignalResult | null;

  @Field(() => ID, { nullable: true, description: 'Only signals that arrived on this endpoint.' })
  endpointId?: string | null;

  @Field(() => Date, { nullable: true, description: 'Received at or after.' })
  receivedAfter?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Received before.' })
  receivedBefore?: Date | null;
}

@ArgsType()
export class SignalsPageArgs {
  @Field(() => SignalFilter, { nullable: true })
  @ValidateIf(present)
  @ValidateNested()
  filter?: SignalFilter | null;

  @Field(() => Int, { nullable: true, description: `Page size (default ${DEFAULT_SIGNALS_PAGE}).` })
  @ValidateIf(present)
  @IsInt()
  @Min(1, { message: 'first must be at least 1' })
  @Max(500, { message: 'first must be at most 500' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'The endCursor of the previous page.' })
  @ValidateIf(present)
  @MaxLength(256)
  after?: string | null;
}

@ArgsType()
export class MarkSignalResultArgs {
  @Field(() => ID)
  id!: string;

  @Field(() => SignalResult)
  result!: SignalResult;

  @Field(() => String, { nullable: true, description: `Replaces the notes; at most ${MAX_NOTES_LENGTH} characters.` })
  @ValidateIf(present)
  @MaxLength(MAX_NOTES_LENGTH, { message: `notes must be at most ${MAX_NOTES_LENGTH} characters` })
  notes?: string | null;
}
