import { GraphQLJSONObject } from 'graphql-scalars';
import { Directive, Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { PageInfo } from '../shared/connection.type';
import { Money } from '../shared/money.type';
import type { ProductEntity } from './product.entity';
import { ProductKind } from './product-kind';

/** The public shape of a product; `categories` and `reviews` are field resolvers. */
@ObjectType('Product')
@Directive('@key(fields: "id")')
export class Product {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  sku!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  description!: string;

  @Field(() => ProductKind)
  kind!: ProductKind;

  @Field(() => Money)
  price!: Money;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Free-form attributes, e.g. platform or weight.' })
  attributes!: Record<string, unknown> | null;

  @Field(() => Boolean, { description: 'False once archived; archived products are hidden from non-admins.' })
  active!: boolean;

  @Field(() => Float, { nullable: true, description: 'Mean review rating rounded to two decimals (a display statistic); null without reviews.' })
  averageRating!: number | null;

  @Field(() => Int)
  reviewCount!: number;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType('ProductEdge')
export class ProductEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Product)
  node!: Product;
}

@ObjectType('ProductConnection')
export class ProductConnection {
  @Field(() => [ProductEdge])
  edges!: ProductEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  /** Counts the whole result set; only run when a client selects `totalCount`. */
  countTotal!: () => Promise<number>;
}

export function averageRating(ratingSum: number, ratingCount: number): number | null {
  return ratingCount === 0 ? null : Math.round((ratingSum * 100) / ratingCount) / 100;
}

export function toProduct(entity: ProductEntity): Product {
  return {
    id: entity.id,
    sku: entity.sku,
    name: entity.name,
    description: entity.description,
    kind: entity.kind,
    price: { amount: entity.priceAmount, currency: entity.currency },
    attributes: entity.attributes,
    active: entity.active,
    averageRating: averageRating(entity.ratingSum, entity.ratingCount),
    reviewCount: entity.ratingCount,
    createdAt: entity.createdAt,
    updatedAt: entity.updatedAt,
  };
}
