import { Matches, IsInt, Min } from 'class-validator';
import { Directive, Field, InputType, Int, ObjectType } from 'type-graphql';

export const CURRENCY_PATTERN = /^[A-Z]{3}$/;

/** An amount in minor units (cents) of an ISO 4217 currency. Shared with other subgraphs. */
@ObjectType('Money')
@Directive('@shareable')
export class Money {
  @Field(() => Int, { description: 'Minor units, e.g. cents.' })
  amount!: number;

  @Field(() => String, { description: 'ISO 4217 code, e.g. USD.' })
  currency!: string;
}

@InputType('MoneyInput')
export class MoneyInput {
  @Field(() => Int, { description: 'Minor units, zero or more.' })
  @IsInt()
  @Min(0, { message: 'amount must not be negative' })
  amount!: number;

  @Field(() => String, { description: 'ISO 4217 code: three upper-case letters.' })
  @Matches(CURRENCY_PATTERN, { message: 'currency must be three upper-case letters (ISO 4217)' })
  currency!: string;
}
