import { onSql } from '../../kit/src';
import { DEMO_CATEGORIES, DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { ProductCategoryEntity, ProductEntity } from '../src/product/product.entity';
import { ProductKind } from '../src/product/product-kind';
import { seedCatalog } from '../src/seeds/catalog.seed';
import { encodeCursor, queryFingerprint } from '../src/shared/cursor';
import { errorCode, startCatalog, type CatalogHarness } from './harness';

const PAGE = `query($first: Int, $after: String, $filter: ProductFilter, $search: String) {
  products(first: $first, after: $after, filter: $filter, search: $search) {
    edges { cursor node { id sku name kind active price { amount currency } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}`;

interface Page {
  edges: { cursor: string; node: { id: string; sku: string; name: string; kind: string; active: boolean; price: { amount: number; currency: string } } }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number;
}

const skus = (page: Page) => page.edges.map((edge) => edge.node.sku);
const demoSkus = (predicate: (product: (typeof DEMO_PRODUCTS)[number]) => boolean) => DEMO_PRODUCTS.filter(predicate).map((product) => product.sku);

describe('catalog queries', () => {
  let harness: CatalogHarness;
  /** Seven extra products sharing one creation time, so paging must break ties by id. */
  const twins: string[] = [];
  const archivedId = '00000000-0000-4000-8000-0000000000aa';

  const page = async (variables: Record<string, unknown>, token?: string): Promise<Page> => {
    const result = await harness.request<{ products: Page }>(PAGE, variables, token);
    expect(result.errors).toBeUndefined();
    return result.data!.products;
  };

  /** Follows endCursor until the last page; returns every sku in order. */
  const allPages = async (variables: Record<string, unknown>, token?: string): Promise<string[]> => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 100; pages += 1) {
      const current: Page = await page({ ...variables, after }, token);
      seen.push(...skus(current));
      if (!current.pageInfo.hasNextPage) return seen;
      after = current.pageInfo.endCursor;
    }
    throw new Error('pagination did not end');
  };

  beforeAll(async () => {
    harness = await startCatalog();
    await seedCatalog(harness.server.orm.em.fork(), DEMO_CATEGORIES, DEMO_PRODUCTS);
    const em = harness.server.orm.em.fork();
    const sameTime = new Date('2020-01-01T00:00:00.000Z');
    for (let index = 0; index < 7; index += 1) {
      const twin = em.create(ProductEntity, {
        sku: `TWIN-${index}`,
        name: `Twin gadget ${index}`,
        description: 'A plain gadget.',
        kind: ProductKind.GOOD,
        priceAmount: 100 + index,
        currency: 'EUR',
        createdAt: sameTime,
        updatedAt: sameTime,
      });
      twins.push(twin.sku);
    }
    em.create(ProductEntity, {
      id: archivedId,
      sku: 'IND-ARCHIVED',
      name: 'Archived Divergence Classic',
      description: 'An old divergence indicator.',
      kind: ProductKind.INDICATOR,
      priceAmount: 900,
      currency: 'USD',
      active: false,
    });
    await em.flush();
  });

  afterAll(async () => {
    await harness.close();
  });

  describe('product(id)', () => {
    it('returns a product with its fields', async () => {
      const demo = DEMO_PRODUCTS[0]!;
      const result = await harness.request(`query($id: ID!) { product(id: $id) { id sku name description kind price { amount currency } attributes active averageRating reviewCount categories { slug } createdAt updatedAt } }`, { id: demo.id });
      expect(result.errors).toBeUndefined();
      expect(result.data!.product).toMatchObject({
        id: demo.id,
        sku: demo.sku,
        name: demo.name,
        description: demo.description,
        kind: 'INDICATOR',
        price: { amount: demo.priceAmount, currency: 'USD' },
        attributes: demo.attributes,
        active: true,
        averageRating: null,
        reviewCount: 0,
        categories: [{ slug: 'momentum' }],
      });
      expect(new Date(result.data!.product.createdAt).getTime()).not.toBeNaN();
    });

    it('accepts an upper-case id', async () => {
      const result = await harness.request('query($id: ID!) { product(id: $id) { sku } }', { id: DEMO_PRODUCTS[3]!.id.toUpperCase() });
      expect(result.data!.product).toEqual({ sku: DEMO_PRODUCTS[3]!.sku });
    });

    it('answers null for an unknown id and BAD_USER_INPUT for a malformed one', async () => {
      const unknown = await harness.request('query($id: ID!) { product(id: $id) { id } }', { id: '00000000-0000-4000-8000-000000009999' });
      expect(unknown.errors).toBeUndefined();
      expect(unknown.data!.product).toBeNull();
      const malformed = await harness.request('query($id: ID!) { product(id: $id) { id } }', { id: 'not-a-uuid' });
      expect(errorCode(malformed)).toBe('BAD_USER_INPUT');
    });

    it('hides archived products from everyone but admins', async () => {
      const query = 'query($id: ID!) { product(id: $id) { sku active } }';
      expect((await harness.request(query, { id: archivedId })).data!.product).toBeNull();
      expect((await harness.request(query, { id: archivedId }, harness.customerToken)).data!.product).toBeNull();
      expect((await harness.request(query, { id: archivedId }, harness.adminToken)).data!.product).toEqual({ sku: 'IND-ARCHIVED', active: false });
    });
  });

  describe('pagination', () => {
    const activeSkus = () => [...demoSkus(() => true), ...twins];

    it('pages through every active product without duplicates or gaps', async () => {
      const seen = await allPages({ first: 3 });
      expect(new Set(seen).size).toBe(seen.length);
      expect([...seen].sort()).toEqual(activeSkus().sort());
      // Newest first; the seven twins share a timestamp and come last, ordered by id.
      expect(seen.slice(0, 20)).toEqual(demoSkus(() => true));
    });

    it('gives the same order whatever the page size', async () => {
      const byOne = await allPages({ first: 1 });
      const byHundred = await allPages({ first: 100 });
      expect(byOne).toEqual(byHundred);
    });

    it('reports page info and the total count', async () => {
      const first = await page({ first: 5 });
      expect(first.edges).toHaveLength(5);
      expect(first.totalCount).toBe(27);
      expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false, startCursor: first.edges[0]!.cursor, endCursor: first.edges[4]!.cursor });
      const second = await page({ first: 5, after: first.pageInfo.endCursor });
      expect(second.pageInfo.hasPreviousPage).toBe(true);
      expect(second.totalCount).toBe(27);
      const last = await page({ first: 100 });
      expect(last.pageInfo.hasNextPage).toBe(false);
      const empty = await page({ first: 5, after: last.pageInfo.endCursor });
      expect(empty).toMatchObject({ edges: [], pageInfo: { hasNextPage: false, startCursor: null, endCursor: null } });
    });

    it('defaults to 20 and refuses a page size outside 1..100', async () => {
      expect((await page({})).edges).toHaveLength(20);
      expect((await page({ first: null })).edges).toHaveLength(20);
      for (const first of [0, -1, 101]) {
        const result = await harness.request(PAGE, { first });
        expect(errorCode(result)).toBe('BAD_USER_INPUT');
      }
    });

    it('refuses malformed and tampered cursors with BAD_USER_INPUT', async () => {
      const real = (await page({ first: 2 })).pageInfo.endCursor!;
      const document = JSON.parse(Buffer.from(real, 'base64url').toString('utf8'));
      const reencode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const bad = [
        'not-a-cursor!',
        'abc',
        real.slice(0, -3),
        `${real}x`,
        Buffer.from('{"nope":').toString('base64url'),
        reencode({ ...document, i: "1' or 1=1 --" }),
        reencode({ ...document, t: 'yesterday' }),
        reencode({ ...document, v: 2 }),
        reencode({ ...document, f: 'someoneelse' }),
        reencode([1, 2, 3]),
        reencode(null),
        'x'.repeat(600),
      ];
      for (const after of bad) {
        const result = await harness.request(PAGE, { first: 2, after });
        expect({ after, code: errorCode(result) }).toEqual({ after, code: 'BAD_USER_INPUT' });
      }
    });

    it('refuses a cursor taken from another query', async () => {
      const plain = (await page({ first: 2 })).pageInfo.endCursor!;
      const filtered = await harness.request(PAGE, { first: 2, after: plain, filter: { kind: 'PLAN' } });
      expect(errorCode(filtered)).toBe('BAD_USER_INPUT');
      const searched = await harness.request(PAGE, { first: 2, after: plain, search: 'rsi' });
      expect(errorCode(searched)).toBe('BAD_USER_INPUT');
    });

    it('continues from a well-formed cursor for a position of its own query', async () => {
      const fingerprint = queryFingerprint({ search: null, categoryId: null, categorySlug: null, kind: null, minPrice: null, maxPrice: null, active: true });
      const after = encodeCursor({ kind: 'created', createdAt: new Date('2020-01-01T00:00:00.001Z'), id: '00000000-0000-4000-8000-000000000000' }, fingerprint);
      const result = await page({ first: 100, after });
      expect(skus(result).sort()).toEqual([...twins].sort());
    });
  });

  describe('search', () => {
    it('ranks name matches above description-only matches', async () => {
      const result = await page({ search: 'volume' });
      expect(skus(result)).toEqual(['IND-VOL-PROFILE', 'IND-OBV-DIV']);
      expect(result.totalCount).toBe(2);
    });

    it('stems words: "divergences" finds "Divergence"', async () => {
      const result = await page({ search: 'divergences' });
      expect(skus(result).sort()).toEqual(['IND-OBV-DIV', 'IND-RSI-DIV']);
    });

    it('matches sku parts and web-search syntax', async () => {
      expect(skus(await page({ search: 'supertrend' }))).toEqual(['IND-SUPERTREND']);
      expect(skus(await page({ search: 'divergence -obv' }))).toEqual(['IND-RSI-DIV']);
      expect(skus(await page({ search: '"trend strength"' }))).toEqual(['IND-ADX-DMI']);
      expect(skus(await page({ search: 'hodl or mug' })).sort()).toEqual(['GOOD-HOODIE', 'GOOD-MUG']);
    });

    it('shows archived matches to admins only', async () => {
      expect(skus(await page({ search: 'divergence' }))).not.toContain('IND-ARCHIVED');
      expect(skus(await page({ search: 'divergence' }, harness.adminToken))).toContain('IND-ARCHIVED');
    });

    it('pages through ranked results without duplicates or gaps', async () => {
      const all = skus(await page({ search: 'rsi or trend or plan or signals or volume', first: 100 }));
      expect(all.length).toBeGreaterThanOrEqual(10);
      const paged = await allPages({ search: 'rsi or trend or plan or signals or volume', first: 2 });
      expect(paged).toEqual(all);
    });

    it('combines search with filters and treats a blank search as none', async () => {
      expect(skus(await page({ search: 'plan', filter: { maxPrice: 1900 } })).sort()).toEqual(['PLAN-FREE', 'PLAN-PRO']);
      expect((await page({ search: '   ', first: 100 })).totalCount).toBe(27);
      expect(skus(await page({ search: 'zzzzqqq' }))).toEqual([]);
    });

    it('refuses an over-long search', async () => {
      expect(errorCode(await harness.request(PAGE, { search: 'x'.repeat(201) }))).toBe('BAD_USER_INPUT');
    });
  });

  describe('filters', () => {
    it('filters by kind', async () => {
      const plans = await page({ filter: { kind: 'PLAN' } });
      expect(skus(plans).sort()).toEqual(demoSkus((product) => product.kind === 'PLAN').sort());
      expect(plans.totalCount).toBe(4);
    });

    it('filters by category including its descendants, by slug or id', async () => {
      const indicators = await page({ filter: { categorySlug: 'indicators' }, first: 100 });
      expect(skus(indicators).sort()).toEqual(demoSkus((product) => product.kind === 'INDICATOR').sort());
      const categories = await harness.request('{ categories { id slug } }');
      const momentum = categories.data!.categories.find((category: { slug: string }) => category.slug === 'momentum');
      const byId = await page({ filter: { categoryId: momentum.id } });
      expect(skus(byId).sort()).toEqual(demoSkus((product) => product.category === 'momentum').sort());
      expect(skus(await page({ filter: { categorySlug: 'no-such-category' } }))).toEqual([]);
    });

    it('filters by price range in minor units, inclusive', async () => {
      const result = await page({ filter: { minPrice: 1900, maxPrice: 2900 }, first: 100 });
      expect(skus(result).sort()).toEqual(demoSkus((product) => product.priceAmount >= 1900 && product.priceAmount <= 2900).sort());
      expect(result.edges.every((edge) => edge.node.price.amount >= 1900 && edge.node.price.amount <= 2900)).toBe(true);
    });

    it('combines filters', async () => {
      const result = await page({ filter: { kind: 'GOOD', categorySlug: 'goods', maxPrice: 4000 }, first: 100 });
      expect(skus(result).sort()).toEqual(demoSkus((product) => product.kind === 'GOOD' && product.priceAmount <= 4000).sort());
    });

    it('paginates a filtered list', async () => {
      const all = skus(await page({ filter: { kind: 'INDICATOR' }, first: 100 }));
      expect(await allPages({ filter: { kind: 'INDICATOR' }, first: 4 })).toEqual(all);
    });

    it('refuses contradictory or malformed filters', async () => {
      expect(errorCode(await harness.request(PAGE, { filter: { minPrice: 500, maxPrice: 100 } }))).toBe('BAD_USER_INPUT');
      expect(errorCode(await harness.request(PAGE, { filter: { minPrice: -1 } }))).toBe('BAD_USER_INPUT');
      expect(errorCode(await harness.request(PAGE, { filter: { categoryId: 'momentum' } }))).toBe('BAD_USER_INPUT');
      expect(errorCode(await harness.request(PAGE, { filter: { categoryId: DEMO_PRODUCTS[0]!.id, categorySlug: 'x' } }))).toBe('BAD_USER_INPUT');
    });

    it('shows only active products to non-admins; admins may ask for archived ones', async () => {
      expect(errorCode(await harness.request(PAGE, { filter: { active: false } }, harness.customerToken))).toBe('FORBIDDEN');
      expect(skus(await page({ filter: { active: false } }, harness.adminToken))).toEqual(['IND-ARCHIVED']);
      expect((await page({ first: 100 }, harness.adminToken)).totalCount).toBe(28);
      expect((await page({ first: 100, filter: { active: true } }, harness.adminToken)).totalCount).toBe(27);
      expect((await page({ first: 100 }, harness.customerToken)).totalCount).toBe(27);
    });
  });

  describe('categories', () => {
    it('lists every category with parent links, or the roots with their children', async () => {
      const all = await harness.request('{ categories { slug parent { slug } } }');
      expect(all.errors).toBeUndefined();
      const parentOf = Object.fromEntries(all.data!.categories.map((category: { slug: string; parent: { slug: string } | null }) => [category.slug, category.parent?.slug ?? null]));
      expect(parentOf).toEqual(Object.fromEntries(DEMO_CATEGORIES.map((category) => [category.slug, category.parent])));

      const roots = await harness.request('{ categories(rootsOnly: true) { slug children { slug children { slug } } } }');
      expect(roots.data!.categories).toEqual([
        { slug: 'goods', children: [{ slug: 'apparel', children: [] }, { slug: 'books', children: [] }, { slug: 'hardware', children: [] }] },
        { slug: 'indicators', children: [{ slug: 'momentum', children: [] }, { slug: 'trend', children: [] }, { slug: 'volume', children: [] }] },
        { slug: 'plans', children: [] },
      ]);
    });

    it('answers one category by slug or id with its products, descendants included', async () => {
      const bySlug = await harness.request('{ category(slug: "goods") { id name products(first: 3) { edges { node { sku } } totalCount pageInfo { hasNextPage } } } }');
      expect(bySlug.errors).toBeUndefined();
      expect(bySlug.data!.category.products.totalCount).toBe(7);
      expect(bySlug.data!.category.products.pageInfo.hasNextPage).toBe(true);
      const byId = await harness.request('query($id: ID) { category(id: $id) { slug } }', { id: bySlug.data!.category.id });
      expect(byId.data!.category).toEqual({ slug: 'goods' });
      expect((await harness.request('{ category(slug: "nothing") { id } }')).data!.category).toBeNull();
      expect(errorCode(await harness.request('{ category { id } }'))).toBe('BAD_USER_INPUT');
    });

    it('batches product categories: one query for a whole page', async () => {
      const statements: string[] = [];
      const stop = onSql(harness.server.orm, (sql) => statements.push(sql));
      try {
        const result = await harness.request('{ products(first: 20) { edges { node { categories { slug parent { slug } } } } } }');
        expect(result.errors).toBeUndefined();
      } finally {
        stop();
      }
      expect(statements.filter((sql) => sql.includes('product_category'))).toHaveLength(1);
      expect(statements.filter((sql) => /from "category"/.test(sql))).toHaveLength(1);
    });
  });

  it('keeps ProductCategoryEntity rows consistent with the seed', async () => {
    const links = await harness.server.orm.em.fork().count(ProductCategoryEntity, {});
    expect(links).toBe(20);
  });
});
