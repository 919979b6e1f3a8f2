import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The catalog's Product, extended here with `salesStats`; analytics knows only its id. */
@ObjectType('Product')
@Directive('@key(fields: "id")')
export class Product {
  @Field(() => ID)
  id!: string;
}
