import type DataLoader from 'dataloader';
import { orderedBy, type RequestContext } from '../../../kit/src';
import { isUuid, normalizeId } from '../shared/ids';
import { ProductEntity } from './product.entity';

/**
 * Products by id, one `select … where id in (…)` per batch. Keys that are not UUIDs resolve to
 * null without reaching Postgres (which would reject them).
 */
export function productById(ctx: RequestContext): DataLoader<string, ProductEntity | null> {
  return ctx.loaders.get<string, ProductEntity | null>('product.byId', async (ids) => {
    const valid = [...new Set(ids.filter(isUuid))];
    const rows = valid.length > 0 ? await ctx.em.find(ProductEntity, { id: { $in: valid } }) : [];
    return orderedBy(ids, rows, (row) => row.id);
  });
}

/** Loads one product by a client-supplied id (any case); null for unknown or malformed ids. */
export const loadProduct = (ctx: RequestContext, id: string): Promise<ProductEntity | null> => productById(ctx).load(normalizeId(id));
