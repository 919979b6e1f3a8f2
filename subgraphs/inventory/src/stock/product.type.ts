import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';

/** The catalog's product kinds; the enum must stay identical to catalog's for composition. */
export enum ProductKind {
  INDICATOR = 'INDICATOR',
  PLAN = 'PLAN',
  GOOD = 'GOOD',
}

registerEnumType(ProductKind, { name: 'ProductKind' });

/** Kinds sold without a stock limit: `Product.stock` is null for them. */
export const UNLIMITED_KINDS: readonly ProductKind[] = [ProductKind.INDICATOR, ProductKind.PLAN];

/**
 * The catalog's Product, seen from inventory: only the key and the `kind` the router fetches
 * from catalog (`@requires`) so `stock` knows whether the product is stocked at all.
 */
@ObjectType('Product')
@Directive('@key(fields: "id")')
export class Product {
  @Field(() => ID)
  id!: string;

  @Field(() => ProductKind)
  @Directive('@external')
  kind!: ProductKind;
}

/** What the router sends in `_entities` for a Product: the key plus the required `kind`. */
export interface ProductRepresentation {
  __typename?: 'Product';
  id: string;
  kind?: ProductKind | string;
}
