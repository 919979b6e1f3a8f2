import { Directive, Field, Int, ObjectType } from 'type-graphql';
import { AppError } from '../../../kit/src';

export const CURRENCY_PATTERN = /^[A-Z]{3}$/;
/** Largest amount GraphQL's Int (and so Money.amount) can carry. */
export const MAX_MONEY_AMOUNT = 2_147_483_647n;

/** An amount in minor units (cents) of an ISO 4217 currency. Shared with catalog, orders and payments. */
@ObjectType('Money')
@Directive('@shareable')
export class Money {
  @Field(() => Int, { description: 'Minor units, e.g. cents.' })
  amount!: number;

  @Field(() => String, { description: 'ISO 4217 code, e.g. USD.' })
  currency!: string;
}

/**
 * A sum of minor units (Postgres returns bigint sums as strings) as Money. Money.amount is a
 * GraphQL Int: a total beyond it is refused with a clear error rather than sent wrong.
 */
export function toMoney(amount: bigint | string | number, currency: string): Money {
  const value = BigInt(amount);
  if (value > MAX_MONEY_AMOUNT || value < -MAX_MONEY_AMOUNT) {
    throw new AppError('BAD_USER_INPUT', `A ${currency} total exceeds what Money.amount (a GraphQL Int) can carry: ${MAX_MONEY_AMOUNT} minor units; ask for a shorter period`);
  }
  return { amount: Number(value), currency };
}

/** A count from Postgres (bigint sums arrive as strings) as a GraphQL Int. */
export function toCount(value: bigint | string | number | null | undefined): number {
  const count = BigInt(value ?? 0);
  if (count > MAX_MONEY_AMOUNT) throw new AppError('BAD_USER_INPUT', 'A count exceeds the range of Int; ask for a shorter period');
  return Number(count);
}
