import type DataLoader from 'dataloader';
import { groupedBy, orderedBy, type RequestContext } from '../../../kit/src';
import { isUuid } from '../shared/ids';
import { CategoryEntity } from './category.entity';
import { toCategory, type Category } from './category.type';

export function categoryById(ctx: RequestContext): DataLoader<string, Category | null> {
  return ctx.loaders.get<string, Category | null>('category.byId', async (ids) => {
    const valid = [...new Set(ids.filter(isUuid))];
    const rows = valid.length > 0 ? await ctx.em.find(CategoryEntity, { id: { $in: valid } }) : [];
    return orderedBy(ids, rows.map(toCategory), (row) => row.id);
  });
}

export function categoriesByParent(ctx: RequestContext): DataLoader<string, Category[]> {
  return ctx.loaders.get<string, Category[]>('category.byParent', async (parentIds) => {
    const rows = await ctx.em.find(CategoryEntity, { parentId: { $in: [...parentIds] } }, { orderBy: { name: 'asc', id: 'asc' } });
    return groupedBy(parentIds, rows.map(toCategory), (row) => row.parentId!);
  });
}

interface ProductCategoryRow {
  product_id: string;
  id: string;
  slug: string;
  name: string;
  parent_id: string | null;
}

/** The categories of many products in one join. */
export function categoriesByProduct(ctx: RequestContext): DataLoader<string, Category[]> {
  return ctx.loaders.get<string, Category[]>('category.byProduct', async (productIds) => {
    const rows = await ctx.em.execute<ProductCategoryRow[]>(
      `select pc.product_id, c.id, c.slug, c.name, c.parent_id
         from product_category pc join category c on c.id = pc.category_id
        where pc.product_id in (${productIds.map(() => '?').join(', ')})
        order by c.name, c.id`,
      [...productIds],
    );
    const pairs = rows.map((row) => ({ productId: row.product_id, category: toCategory({ id: row.id, slug: row.slug, name: row.name, parentId: row.parent_id }) }));
    return groupedBy(productIds, pairs, (pair) => pair.productId).map((group) => group.map((pair) => pair.category));
  });
}
