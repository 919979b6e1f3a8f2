import { Directive, Field, Int, ObjectType } from 'type-graphql';

/** An amount in minor units (cents) of an ISO 4217 currency; identical to catalog's shareable Money. */
@ObjectType('Money')
@Directive('@shareable')
export class Money {
  @Field(() => Int, { description: 'Minor units, e.g. cents.' })
  amount!: number;

  @Field(() => String, { description: 'ISO 4217 code, e.g. USD.' })
  currency!: string;
}

/** Postgres `int` and GraphQL `Int` upper bound: no amount may exceed it. */
export const MAX_AMOUNT = 2_147_483_647;

export const money = (amount: number, currency: string): Money => ({ amount, currency });
