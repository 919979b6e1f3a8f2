import { IsInt, Length, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';

export const MIN_IDEMPOTENCY_KEY_LENGTH = 8;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 100;
export const MAX_PAYMENT_METHOD_LENGTH = 100;
export const MAX_TRACKING_NUMBER_LENGTH = 100;
export const DEFAULT_ORDERS_PAGE = 20;
const NOT_BLANK = /\S/;

@InputType('CheckoutInput')
export class CheckoutInput {
  @Field(() => String, {
    description: `Chosen by the client, ${MIN_IDEMPOTENCY_KEY_LENGTH}..${MAX_IDEMPOTENCY_KEY_LENGTH} characters: a checkout repeated with the same key returns the order the first one placed.`,
  })
  @Length(MIN_IDEMPOTENCY_KEY_LENGTH, MAX_IDEMPOTENCY_KEY_LENGTH, {
    message: `idempotencyKey must be ${MIN_IDEMPOTENCY_KEY_LENGTH} to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
  })
  @Matches(NOT_BLANK, { message: 'idempotencyKey must not be blank' })
  idempotencyKey!: string;

  @Field(() => String, { description: 'Handed to payments as is, e.g. a saved card or provider token.' })
  @Length(1, MAX_PAYMENT_METHOD_LENGTH, { message: `paymentMethod must be 1 to ${MAX_PAYMENT_METHOD_LENGTH} characters` })
  @Matches(NOT_BLANK, { message: 'paymentMethod must not be blank' })
  paymentMethod!: string;
}

@ArgsType()
export class ShipOrderArgs {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  @Matches(NOT_BLANK, { message: 'trackingNumber must not be blank' })
  @MaxLength(MAX_TRACKING_NUMBER_LENGTH, { message: `trackingNumber must be at most ${MAX_TRACKING_NUMBER_LENGTH} characters` })
  trackingNumber!: string;
}

@ArgsType()
export class OrdersPageArgs {
  @Field(() => Int, { nullable: true, description: `Page size (default ${DEFAULT_ORDERS_PAGE}).` })
  @ValidateIf((_args, value) => value !== null && value !== undefined)
  @IsInt()
  @Min(1, { message: 'first must be at least 1' })
  @Max(500, { message: 'first must be at most 500' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'The endCursor of the previous page.' })
  @ValidateIf((_args, value) => value !== null && value !== undefined)
  @MaxLength(256)
  after?: string | null;
}
