import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import { badInput, conflict, forbidden, notFound, requireRole, type EntityManager, type RequestContext } from '../../../kit/src';
import { assertCategoriesExist } from '../category/category.service';
import { decodeCursor, encodeCursor, queryFingerprint, type CursorPosition } from '../shared/cursor';
import { normalizeId, requireUuid } from '../shared/ids';
import { pageOf, pageSize } from '../shared/pagination';
import { ProductCategoryEntity, ProductEntity } from './product.entity';
import { recordProductChanged } from './product.events';
import { MAX_ATTRIBUTES_BYTES, type CreateProductInput, type ProductFilter, type ProductsArgs, type UpdateProductInput } from './product.input';
import { loadProduct } from './product.loaders';
import { toProduct, type Product, type ProductConnection } from './product.type';

const isAdmin = (ctx: RequestContext): boolean => ctx.viewer?.role === 'ADMIN';

/** A product by id; archived products only for admins. Malformed ids are BAD_USER_INPUT, unknown ids null. */
export async function findProduct(ctx: RequestContext, id: string): Promise<Product | null> {
  const entity = await loadProduct(ctx, requireUuid(id));
  if (!entity || (!entity.active && !isAdmin(ctx))) return null;
  return toProduct(entity);
}

/**
 * What the router gets for a `Product` reference: batched through the loader, archived products
 * included (orders keep pointing at them), null for unknown or malformed ids.
 */
export async function resolveProductReference(ctx: RequestContext, id: string): Promise<Product | null> {
  const entity = await loadProduct(ctx, id);
  return entity ? toProduct(entity) : null;
}

// ---------------------------------------------------------------------------------------------
// Listing and search: keyset pagination over (created_at, id), or (rank, id) when searching.

const PRODUCT_COLUMNS = ['id', 'sku', 'name', 'description', 'kind', 'price_amount', 'currency', 'attributes', 'active', 'rating_sum', 'rating_count', 'created_at', 'updated_at']
  .map((column) => `p."${column}"`)
  .join(', ');

type ProductRow = Record<string, unknown> & { id: string; created_at: Date; rank?: number };

interface ListQuery {
  from: string;
  where: string[];
  params: unknown[];
}

function filterQuery(ctx: RequestContext, filter: ProductFilter, search: string | null): ListQuery {
  const query: ListQuery = { from: 'product p', where: [], params: [] };
  if (search) {
    query.from = `product p cross join websearch_to_tsquery('english', ?) as q(query)`;
    query.params.push(search);
    query.where.push('p.search @@ q.query');
  }
  const active = isAdmin(ctx) ? (filter.active ?? null) : true;
  if (active !== null) {
    query.where.push('p.active = ?');
    query.params.push(active);
  }
  if (filter.kind) {
    query.where.push('p.kind = ?');
    query.params.push(filter.kind);
  }
  if (filter.minPrice !== null && filter.minPrice !== undefined) {
    query.where.push('p.price_amount >= ?');
    query.params.push(filter.minPrice);
  }
  if (filter.maxPrice !== null && filter.maxPrice !== undefined) {
    query.where.push('p.price_amount <= ?');
    query.params.push(filter.maxPrice);
  }
  const categoryId = filter.categoryId ? normalizeId(filter.categoryId) : null;
  if (categoryId || filter.categorySlug) {
    // The category and every category below it; `union` (not `union all`) also stops at cycles.
    query.where.push(`exists (
      select 1 from product_category pc
       where pc.product_id = p.id
         and pc.category_id in (
           with recursive tree(id) as (
             select c.id from category c where ${categoryId ? 'c.id = ?' : 'c.slug = ?'}
             union
             select c.id from category c join tree t on c.parent_id = t.id
           )
           select id from tree))`);
    query.params.push(categoryId ?? filter.categorySlug);
  }
  return query;
}

const whereClause = (conditions: string[]): string => (conditions.length > 0 ? `where ${conditions.join(' and ')}` : '');

/** Checks what the validators cannot, before any SQL runs. */
function checkListArgs(ctx: RequestContext, filter: ProductFilter): void {
  if (filter.active === false && !isAdmin(ctx)) throw forbidden('Only admins may list archived products');
  if (filter.categoryId && filter.categorySlug) throw badInput('Give categoryId or categorySlug, not both', 'filter.categoryId');
  if (filter.minPrice != null && filter.maxPrice != null && filter.minPrice > filter.maxPrice) {
    throw badInput('minPrice must not exceed maxPrice', 'filter.minPrice');
  }
}

export async function listProducts(ctx: RequestContext, args: ProductsArgs): Promise<ProductConnection> {
  const size = pageSize(args.first);
  const filter = args.filter ?? {};
  const search = args.search?.trim() ? args.search.trim() : null;
  checkListArgs(ctx, filter);
  const fingerprint = queryFingerprint({
    search,
    categoryId: filter.categoryId ? normalizeId(filter.categoryId) : null,
    categorySlug: filter.categorySlug ?? null,
    kind: filter.kind ?? null,
    minPrice: filter.minPrice ?? null,
    maxPrice: filter.maxPrice ?? null,
    active: isAdmin(ctx) ? (filter.active ?? null) : true,
  });
  const position = args.after ? decodeCursor(args.after, search ? 'rank' : 'created', fingerprint) : null;

  const base = filterQuery(ctx, filter, search);
  const where = [...base.where];
  const params = [...base.params];
  let sql: string;
  if (search) {
    if (position?.kind === 'rank') {
      where.push('(s.rank, s.id) < (?::real, ?::uuid)');
      params.push(position.rank, position.id);
    }
    // Rank in a sub-select so the keyset condition can compare it.
    sql = `select s.* from (
             select ${PRODUCT_COLUMNS}, ts_rank(p.search, q.query) as rank from ${base.from} ${whereClause(base.where)}
           ) s ${position ? `where ${where.slice(base.where.length).join(' and ')}` : ''}
           order by s.rank desc, s.id desc limit ?`;
  } else {
    if (position?.kind === 'created') {
      where.push('(p.created_at, p.id) < (?::timestamptz, ?::uuid)');
      params.push(position.createdAt.toISOString(), position.id);
    }
    sql = `select ${PRODUCT_COLUMNS} from ${base.from} ${whereClause(where)} order by p.created_at desc, p.id desc limit ?`;
  }
  params.push(size + 1);

  const rows = await ctx.em.execute<ProductRow[]>(sql, params);
  const cursorOf = (row: ProductRow): string => {
    const at: CursorPosition = search ? { kind: 'rank', rank: Number(row.rank), id: row.id } : { kind: 'created', createdAt: new Date(row.created_at), id: row.id };
    return encodeCursor(at, fingerprint);
  };
  const page = pageOf(rows, size, args.after, cursorOf);
  return {
    edges: page.items.map((row, index) => {
      const { rank: _rank, ...columns } = row;
      return { cursor: page.cursors[index]!, node: toProduct(ctx.em.map(ProductEntity, columns)) };
    }),
    pageInfo: page.pageInfo,
    countTotal: async () => {
      const [result] = await ctx.em.execute<{ count: number }[]>(`select count(*)::int as count from ${base.from} ${whereClause(base.where)}`, base.params);
      return result?.count ?? 0;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Admin writes: validated first, then one transaction with the ProductChanged outbox event.

function checkAttributes(attributes: Record<string, unknown> | null | undefined): void {
  if (attributes && Buffer.byteLength(JSON.stringify(attributes)) > MAX_ATTRIBUTES_BYTES) {
    throw badInput(`attributes must be at most ${MAX_ATTRIBUTES_BYTES} bytes of JSON`, 'attributes');
  }
}

const uniqueIds = (ids: string[]): string[] => [...new Set(ids.map(normalizeId))];

/** Turns a unique violation that slipped past the pre-check (a concurrent write) into CONFLICT. */
async function translatingConflicts<T>(sku: string | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw conflict(`A product with sku ${sku ?? ''} already exists`.trim());
    throw error;
  }
}

async function assertSkuFree(em: EntityManager, sku: string, exceptId?: string): Promise<void> {
  const taken = await em.count(ProductEntity, exceptId ? { sku, id: { $ne: exceptId } } : { sku });
  if (taken > 0) throw conflict(`A product with sku ${sku} already exists`);
}

export async function createProduct(ctx: RequestContext, input: CreateProductInput): Promise<Product> {
  requireRole(ctx.viewer, 'ADMIN');
  checkAttributes(input.attributes);
  const categoryIds = uniqueIds(input.categoryIds ?? []);
  const product = await translatingConflicts(input.sku, () =>
    ctx.em.transactional(async (em) => {
      await assertSkuFree(em, input.sku);
      await assertCategoriesExist(em, categoryIds);
      const created = em.create(ProductEntity, {
        sku: input.sku,
        name: input.name.trim(),
        description: input.description ?? '',
        kind: input.kind,
        priceAmount: input.price.amount,
        currency: input.price.currency,
        attributes: input.attributes ?? null,
        active: input.active ?? true,
      });
      // Write the product before the rows that reference it (the ORM does not know that foreign key).
      await em.flush();
      for (const categoryId of categoryIds) em.create(ProductCategoryEntity, { productId: created.id, categoryId });
      recordProductChanged(em, created);
      return created;
    }),
  );
  return toProduct(product);
}

export async function updateProduct(ctx: RequestContext, rawId: string, input: UpdateProductInput): Promise<Product> {
  requireRole(ctx.viewer, 'ADMIN');
  const id = requireUuid(rawId);
  checkAttributes(input.attributes);
  const categoryIds = input.categoryIds ? uniqueIds(input.categoryIds) : undefined;
  const product = await translatingConflicts(input.sku, () =>
    ctx.em.transactional(async (em) => {
      const found = await em.findOne(ProductEntity, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!found) throw notFound('Product', id);
      if (input.sku !== undefined && input.sku !== found.sku) await assertSkuFree(em, input.sku, id);
      if (categoryIds) await assertCategoriesExist(em, categoryIds);

      if (input.sku !== undefined) found.sku = input.sku;
      if (input.name !== undefined) found.name = input.name.trim();
      if (input.description !== undefined) found.description = input.description;
      if (input.kind !== undefined) found.kind = input.kind;
      if (input.price !== undefined) {
        found.priceAmount = input.price.amount;
        found.currency = input.price.currency;
      }
      if (input.attributes !== undefined) found.attributes = input.attributes;
      if (input.active !== undefined) found.active = input.active;
      found.updatedAt = new Date();

      if (categoryIds) {
        const current = await em.find(ProductCategoryEntity, { productId: id });
        for (const link of current) if (!categoryIds.includes(link.categoryId)) em.remove(link);
        const kept = new Set(current.map((link) => link.categoryId));
        for (const categoryId of categoryIds) if (!kept.has(categoryId)) em.create(ProductCategoryEntity, { productId: id, categoryId });
      }
      recordProductChanged(em, found);
      return found;
    }),
  );
  return toProduct(product);
}

/** Sets active=false; archiving an archived product changes nothing but still answers it (and records the event). */
export async function archiveProduct(ctx: RequestContext, rawId: string): Promise<Product> {
  requireRole(ctx.viewer, 'ADMIN');
  const id = requireUuid(rawId);
  const product = await ctx.em.transactional(async (em) => {
    const found = await em.findOne(ProductEntity, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!found) throw notFound('Product', id);
    if (found.active) {
      found.active = false;
      found.updatedAt = new Date();
    }
    recordProductChanged(em, found);
    return found;
  });
  return toProduct(product);
}
