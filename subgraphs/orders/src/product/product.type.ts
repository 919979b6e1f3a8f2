import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The catalog's Product as orders references it: the key only; the router resolves the rest in catalog. */
@ObjectType('Product')
@Directive('@key(fields: "id", resolvable: false)')
export class Product {
  @Field(() => ID)
  id!: string;
}

export const productRef = (id: string): Product => ({ id });
