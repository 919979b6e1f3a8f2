import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import { listProducts } from '../product/product.service';
import { ProductConnection } from '../product/product.type';
import { PageArgs } from '../shared/pagination';
import { CreateCategoryInput } from './category.input';
import { categoriesByParent, categoryById } from './category.loaders';
import { createCategory, findCategory, listCategories } from './category.service';
import { Category } from './category.type';

@Resolver(() => Category)
export class CategoryResolver {
  @Query(() => [Category], { description: 'Every category with its parent link, or only the roots.' })
  categories(@Arg('rootsOnly', () => Boolean, { defaultValue: false }) rootsOnly: boolean, @Ctx() ctx: RequestContext): Promise<Category[]> {
    return listCategories(ctx, rootsOnly);
  }

  @Query(() => Category, { nullable: true, description: 'By id or slug (exactly one).' })
  category(
    @Arg('id', () => ID, { nullable: true }) id: string | null,
    @Arg('slug', () => String, { nullable: true }) slug: string | null,
    @Ctx() ctx: RequestContext,
  ): Promise<Category | null> {
    return findCategory(ctx, { id, slug });
  }

  @Mutation(() => Category, { description: 'ADMIN.' })
  createCategory(@Arg('input', () => CreateCategoryInput) input: CreateCategoryInput, @Ctx() ctx: RequestContext): Promise<Category> {
    return createCategory(ctx, input);
  }

  @FieldResolver(() => Category, { nullable: true })
  parent(@Root() category: Category, @Ctx() ctx: RequestContext): Promise<Category | null> | null {
    return category.parentId ? categoryById(ctx).load(category.parentId) : null;
  }

  @FieldResolver(() => [Category])
  children(@Root() category: Category, @Ctx() ctx: RequestContext): Promise<Category[]> {
    return categoriesByParent(ctx).load(category.id);
  }

  @FieldResolver(() => ProductConnection, { description: 'Products in this category and the ones below it, newest first.' })
  products(@Root() category: Category, @Args(() => PageArgs) page: PageArgs, @Ctx() ctx: RequestContext): Promise<ProductConnection> {
    return listProducts(ctx, { first: page.first, after: page.after, filter: { categoryId: category.id } });
  }
}
