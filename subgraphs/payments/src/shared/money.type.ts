import { Directive, Field, Int, ObjectType } from 'type-graphql';

/** An amount in minor units (cents) of an ISO 4217 currency. Identical in every subgraph that declares it (@shareable). */
@ObjectType('Money')
@Directive('@shareable')
export class Money {
  @Field(() => Int, { description: 'Minor units, e.g. cents.' })
  amount!: number;

  @Field(() => String, { description: 'ISO 4217 code, e.g. USD.' })
  currency!: string;
}
