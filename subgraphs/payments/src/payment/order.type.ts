import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The orders subgraph's Order; payments adds `payment` to it. */
@ObjectType('Order')
@Directive('@key(fields: "id")')
export class Order {
  @Field(() => ID)
  id!: string;
}
