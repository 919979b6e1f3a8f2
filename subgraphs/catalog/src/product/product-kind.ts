import { registerEnumType } from 'type-graphql';

export enum ProductKind {
  INDICATOR = 'INDICATOR',
  PLAN = 'PLAN',
  GOOD = 'GOOD',
}

registerEnumType(ProductKind, {
  name: 'ProductKind',
  description: 'What a product is: a chart indicator, a subscription plan or a physical good.',
});

export const PRODUCT_KINDS = Object.values(ProductKind);
