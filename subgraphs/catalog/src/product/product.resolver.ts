import { Arg, Args, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import { categoriesByProduct } from '../category/category.loaders';
import { Category } from '../category/category.type';
import { CreateProductInput, ProductsArgs, UpdateProductInput } from './product.input';
import { archiveProduct, createProduct, findProduct, listProducts, updateProduct } from './product.service';
import { Product, ProductConnection } from './product.type';

@Resolver(() => Product)
export class ProductResolver {
  @Query(() => Product, { nullable: true, description: 'Null for an unknown id (or an archived product, unless ADMIN); BAD_USER_INPUT for an id that is not a UUID.' })
  product(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<Product | null> {
    return findProduct(ctx, id);
  }

  @Query(() => ProductConnection, { description: 'Newest first, or by relevance when searching.' })
  products(@Args(() => ProductsArgs) args: ProductsArgs, @Ctx() ctx: RequestContext): Promise<ProductConnection> {
    return listProducts(ctx, args);
  }

  @Mutation(() => Product, { description: 'ADMIN.' })
  createProduct(@Arg('input', () => CreateProductInput) input: CreateProductInput, @Ctx() ctx: RequestContext): Promise<Product> {
    return createProduct(ctx, input);
  }

  @Mutation(() => Product, { description: 'ADMIN.' })
  updateProduct(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateProductInput) input: UpdateProductInput,
    @Ctx() ctx: RequestContext,
  ): Promise<Product> {
    return updateProduct(ctx, id, input);
  }

  @Mutation(() => Product, { description: 'ADMIN. Sets active to false.' })
  archiveProduct(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<Product> {
    return archiveProduct(ctx, id);
  }

  @FieldResolver(() => [Category])
  categories(@Root() product: Product, @Ctx() ctx: RequestContext): Promise<Category[]> {
    return categoriesByProduct(ctx).load(product.id);
  }
}

@Resolver(() => ProductConnection)
export class ProductConnectionResolver {
  @FieldResolver(() => Int, { description: 'Size of the whole result set (all pages).' })
  totalCount(@Root() connection: ProductConnection): Promise<number> {
    return connection.countTotal();
  }
}
