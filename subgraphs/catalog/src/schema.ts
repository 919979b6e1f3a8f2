import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '../../kit/src';
import { categoryReferences } from './category/category.reference';
import { CategoryResolver } from './category/category.resolver';
import { productReferences } from './product/product.reference';
import { ProductConnectionResolver, ProductResolver } from './product/product.resolver';
import { ProductReviewsResolver, ReviewResolver } from './review/review.resolver';

export const catalogResolvers = [ProductResolver, ProductConnectionResolver, CategoryResolver, ReviewResolver, ProductReviewsResolver] as const;

/** The catalog's Federation 2 schema: Product, Category, Review, Money and the User reference. */
export function buildCatalogSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema({ resolvers: catalogResolvers }, { ...productReferences, ...categoryReferences });
}
