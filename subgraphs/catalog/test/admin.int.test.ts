import { OutboxEvent } from '../../kit/src';
import { errorCode, startCatalog, type CatalogHarness } from './harness';

const CREATE = `mutation($input: CreateProductInput!) {
  createProduct(input: $input) { id sku name description kind price { amount currency } attributes active categories { slug } createdAt updatedAt }
}`;
const UPDATE = `mutation($id: ID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) { id sku name description kind price { amount currency } attributes active categories { slug } updatedAt }
}`;
const ARCHIVE = 'mutation($id: ID!) { archiveProduct(id: $id) { id active } }';
const CREATE_CATEGORY = 'mutation($input: CreateCategoryInput!) { createCategory(input: $input) { id slug name parent { slug } } }';

const validInput = (overrides: Record<string, unknown> = {}) => ({
  sku: 'IND-TEST-1',
  name: 'Test Indicator',
  description: 'Finds test divergences.',
  kind: 'INDICATOR',
  price: { amount: 1234, currency: 'USD' },
  attributes: { platform: 'TradingView' },
  ...overrides,
});

describe('catalog admin mutations', () => {
  let harness: CatalogHarness;
  let toolsId: string;
  let chartsId: string;

  const events = (subject: string) => harness.server.orm.em.fork().find(OutboxEvent, { subject }, { orderBy: { occurredAt: 'asc', id: 'asc' } });

  /** Runs `act` and checks that no product, link or outbox row appeared or changed. */
  const expectNothingWritten = async (act: () => Promise<void>) => {
    const snapshot = async () => ({
      products: await harness.count('product'),
      links: await harness.count('product_category'),
      outbox: await harness.count('outbox'),
      rows: await harness.server.orm.em.fork().execute('select id, sku, name, description, price_amount, currency, active, updated_at from product order by id'),
    });
    const before = await snapshot();
    await act();
    expect(await snapshot()).toEqual(before);
  };

  beforeAll(async () => {
    harness = await startCatalog();
    const tools = await harness.request(CREATE_CATEGORY, { input: { slug: 'tools', name: 'Tools' } }, harness.adminToken);
    expect(tools.errors).toBeUndefined();
    toolsId = tools.data!.createCategory.id;
    const charts = await harness.request(CREATE_CATEGORY, { input: { slug: 'charts', name: 'Charts', parentId: toolsId } }, harness.adminToken);
    expect(charts.errors).toBeUndefined();
    chartsId = charts.data!.createCategory.id;
  });

  afterAll(async () => {
    await harness.close();
  });

  describe('categories', () => {
    it('creates a category under a parent', async () => {
      const charts = await harness.request('query($id: ID) { category(id: $id) { slug name parent { slug } } }', { id: chartsId });
      expect(charts.data!.category).toEqual({ slug: 'charts', name: 'Charts', parent: { slug: 'tools' } });
    });

    it('refuses duplicates, unknown parents, bad slugs and non-admins', async () => {
      const before = await harness.count('category');
      expect(errorCode(await harness.request(CREATE_CATEGORY, { input: { slug: 'tools', name: 'Again' } }, harness.adminToken))).toBe('CONFLICT');
      expect(errorCode(await harness.request(CREATE_CATEGORY, { input: { slug: 'orphans', name: 'Orphans', parentId: '00000000-0000-4000-8000-00000000beef' } }, harness.adminToken))).toBe('NOT_FOUND');
      expect(errorCode(await harness.request(CREATE_CATEGORY, { input: { slug: 'Bad Slug', name: 'Bad' } }, harness.adminToken))).toBe('BAD_USER_INPUT');
      expect(errorCode(await harness.request(CREATE_CATEGORY, { input: { slug: 'mine', name: 'Mine' } }, harness.customerToken))).toBe('FORBIDDEN');
      expect(errorCode(await harness.request(CREATE_CATEGORY, { input: { slug: 'mine', name: 'Mine' } }))).toBe('UNAUTHENTICATED');
      expect(await harness.count('category')).toBe(before);
    });
  });

  describe('create, update, archive', () => {
    let productId: string;

    it('creates a product and records ProductChanged in the same transaction', async () => {
      const created = await harness.request(CREATE, { input: validInput({ categoryIds: [chartsId] }) }, harness.adminToken);
      expect(created.errors).toBeUndefined();
      const product = created.data!.createProduct;
      productId = product.id;
      expect(product).toMatchObject({
        sku: 'IND-TEST-1',
        name: 'Test Indicator',
        kind: 'INDICATOR',
        price: { amount: 1234, currency: 'USD' },
        attributes: { platform: 'TradingView' },
        active: true,
        categories: [{ slug: 'charts' }],
      });
      const [event, ...others] = await events(productId);
      expect(others).toHaveLength(0);
      expect(event).toMatchObject({
        type: 'ProductChanged',
        source: 'catalog',
        version: 1,
        subject: productId,
        publishedAt: null,
        data: { productId, sku: 'IND-TEST-1', name: expect.any(String), kind: 'INDICATOR', priceAmount: 1234, currency: 'USD', active: true },
      });
      // It is found through the parent category too.
      const inTools = await harness.request('{ products(filter: { categorySlug: "tools" }) { edges { node { id } } } }');
      expect(inTools.data!.products.edges).toEqual([{ node: { id: productId } }]);
    });

    it('updates only the given fields and records the new state', async () => {
      const updated = await harness.request(UPDATE, { id: productId, input: { name: 'Renamed Indicator', price: { amount: 1500, currency: 'EUR' }, categoryIds: [toolsId] } }, harness.adminToken);
      expect(updated.errors).toBeUndefined();
      expect(updated.data!.updateProduct).toMatchObject({
        id: productId,
        sku: 'IND-TEST-1',
        name: 'Renamed Indicator',
        description: 'Finds test divergences.',
        price: { amount: 1500, currency: 'EUR' },
        attributes: { platform: 'TradingView' },
        categories: [{ slug: 'tools' }],
      });
      const latest = (await events(productId)).at(-1)!;
      expect(latest.data).toEqual({ productId, sku: 'IND-TEST-1', name: 'Renamed Indicator', kind: 'INDICATOR', priceAmount: 1500, currency: 'EUR', active: true });
      expect(await events(productId)).toHaveLength(2);

      const cleared = await harness.request(UPDATE, { id: productId, input: { attributes: null, categoryIds: [] } }, harness.adminToken);
      expect(cleared.data!.updateProduct).toMatchObject({ attributes: null, categories: [], name: 'Renamed Indicator' });
      // The search column follows the new name.
      const found = await harness.request('{ products(search: "renamed") { edges { node { id } } } }');
      expect(found.data!.products.edges).toEqual([{ node: { id: productId } }]);
    });

    it('archives a product: hidden from customers, visible to admins, event recorded', async () => {
      const archived = await harness.request(ARCHIVE, { id: productId }, harness.adminToken);
      expect(archived.errors).toBeUndefined();
      expect(archived.data!.archiveProduct).toEqual({ id: productId, active: false });
      expect((await events(productId)).at(-1)!.data).toMatchObject({ productId, active: false });
      const query = 'query($id: ID!) { product(id: $id) { id active } }';
      expect((await harness.request(query, { id: productId }, harness.customerToken)).data!.product).toBeNull();
      expect((await harness.request(query, { id: productId }, harness.adminToken)).data!.product).toEqual({ id: productId, active: false });
      // And it can be brought back.
      const restored = await harness.request(UPDATE, { id: productId, input: { active: true } }, harness.adminToken);
      expect(restored.data!.updateProduct.active).toBe(true);
    });
  });

  describe('authorization', () => {
    it('answers FORBIDDEN to non-admins and UNAUTHENTICATED to anonymous callers, writing nothing', async () => {
      const trader = await harness.issuer.sign('33333333-3333-4333-8333-333333333333', 'TRADER');
      await expectNothingWritten(async () => {
        expect(errorCode(await harness.request(CREATE, { input: validInput({ sku: 'IND-NOPE' }) }, harness.customerToken))).toBe('FORBIDDEN');
        expect(errorCode(await harness.request(CREATE, { input: validInput({ sku: 'IND-NOPE' }) }, trader))).toBe('FORBIDDEN');
        expect(errorCode(await harness.request(CREATE, { input: validInput({ sku: 'IND-NOPE' }) }))).toBe('UNAUTHENTICATED');
        const [any] = await harness.server.orm.em.fork().execute<{ id: string }[]>('select id from product limit 1');
        expect(errorCode(await harness.request(UPDATE, { id: any!.id, input: { name: 'x' } }, harness.customerToken))).toBe('FORBIDDEN');
        expect(errorCode(await harness.request(ARCHIVE, { id: any!.id }, harness.customerToken))).toBe('FORBIDDEN');
        expect(errorCode(await harness.request(ARCHIVE, { id: any!.id }))).toBe('UNAUTHENTICATED');
      });
    });

    it('refuses a forged token with UNAUTHENTICATED', async () => {
      const forged = await harness.request(CREATE, { input: validInput({ sku: 'IND-FORGED' }) }, `${harness.adminToken.slice(0, -4)}AAAA`);
      expect(errorCode(forged)).toBe('UNAUTHENTICATED');
    });
  });

  describe('validation writes nothing', () => {
    const invalidCreates: [string, Record<string, unknown>, string][] = [
      ['negative price', { price: { amount: -1, currency: 'USD' } }, 'price.amount'],
      ['lower-case currency', { price: { amount: 100, currency: 'usd' } }, 'price.currency'],
      ['four-letter currency', { price: { amount: 100, currency: 'USDT' } }, 'price.currency'],
      ['empty name', { name: '' }, 'name'],
      ['blank name', { name: '   ' }, 'name'],
      ['over-long name', { name: 'n'.repeat(201) }, 'name'],
      ['over-long description', { description: 'd'.repeat(5001) }, 'description'],
      ['bad sku', { sku: 'ind test' }, 'sku'],
      ['malformed category id', { categoryIds: ['charts'] }, 'categoryIds'],
    ];

    it.each(invalidCreates)('refuses a create with %s (BAD_USER_INPUT naming the field)', async (_label, overrides, field) => {
      await expectNothingWritten(async () => {
        const result = await harness.request(CREATE, { input: validInput({ sku: 'IND-INVALID', ...overrides }) }, harness.adminToken);
        expect(errorCode(result)).toBe('BAD_USER_INPUT');
        expect(result.errors![0]!.extensions!.fields.map((problem: { field: string }) => problem.field)).toContain(field);
      });
    });

    it('accepts the limits themselves', async () => {
      const result = await harness.request(CREATE, { input: validInput({ sku: 'IND-LIMITS', name: 'n'.repeat(200), description: 'd'.repeat(5000), price: { amount: 0, currency: 'JPY' } }) }, harness.adminToken);
      expect(result.errors).toBeUndefined();
      expect(result.data!.createProduct.price).toEqual({ amount: 0, currency: 'JPY' });
    });

    it('refuses over-large attributes', async () => {
      await expectNothingWritten(async () => {
        const result = await harness.request(CREATE, { input: validInput({ sku: 'IND-BIG', attributes: { blob: 'x'.repeat(20_000) } }) }, harness.adminToken);
        expect(errorCode(result)).toBe('BAD_USER_INPUT');
      });
    });

    it('answers CONFLICT for a duplicate sku, on create and on update', async () => {
      const other = await harness.request(CREATE, { input: validInput({ sku: 'IND-OTHER' }) }, harness.adminToken);
      expect(other.errors).toBeUndefined();
      await expectNothingWritten(async () => {
        expect(errorCode(await harness.request(CREATE, { input: validInput({ sku: 'IND-OTHER' }) }, harness.adminToken))).toBe('CONFLICT');
        expect(errorCode(await harness.request(UPDATE, { id: other.data!.createProduct.id, input: { sku: 'IND-TEST-1' } }, harness.adminToken))).toBe('CONFLICT');
      });
    });

    it('answers NOT_FOUND for unknown products and categories, BAD_USER_INPUT for malformed ids', async () => {
      const unknown = '00000000-0000-4000-8000-00000000dead';
      await expectNothingWritten(async () => {
        expect(errorCode(await harness.request(UPDATE, { id: unknown, input: { name: 'Ghost' } }, harness.adminToken))).toBe('NOT_FOUND');
        expect(errorCode(await harness.request(ARCHIVE, { id: unknown }, harness.adminToken))).toBe('NOT_FOUND');
        expect(errorCode(await harness.request(UPDATE, { id: 'nope', input: { name: 'Ghost' } }, harness.adminToken))).toBe('BAD_USER_INPUT');
        expect(errorCode(await harness.request(ARCHIVE, { id: 'nope' }, harness.adminToken))).toBe('BAD_USER_INPUT');
        expect(errorCode(await harness.request(CREATE, { input: validInput({ sku: 'IND-LOST', categoryIds: [unknown] }) }, harness.adminToken))).toBe('NOT_FOUND');
      });
    });

    it('refuses invalid updates and explicit nulls for required fields', async () => {
      const [target] = await harness.server.orm.em.fork().execute<{ id: string }[]>("select id from product where sku = 'IND-TEST-1'");
      const bad: Record<string, unknown>[] = [
        { price: { amount: -5, currency: 'USD' } },
        { price: { amount: 5, currency: 'dollars' } },
        { price: null },
        { name: 'n'.repeat(201) },
        { name: null },
        { sku: null },
        { description: 'd'.repeat(5001) },
        { categoryIds: [chartsId, 'x'] },
      ];
      await expectNothingWritten(async () => {
        for (const input of bad) {
          const result = await harness.request(UPDATE, { id: target!.id, input }, harness.adminToken);
          expect({ input, code: errorCode(result) }).toEqual({ input, code: 'BAD_USER_INPUT' });
        }
        // An unknown category fails the whole update, including the valid name change.
        const mixed = await harness.request(UPDATE, { id: target!.id, input: { name: 'Half Done', categoryIds: [chartsId, '00000000-0000-4000-8000-00000000dead'] } }, harness.adminToken);
        expect(errorCode(mixed)).toBe('NOT_FOUND');
      });
    });
  });

  it('keeps one ProductChanged per write in the outbox', async () => {
    const before = await harness.count('outbox');
    const created = await harness.request(CREATE, { input: validInput({ sku: 'IND-COUNTED' }) }, harness.adminToken);
    const id = created.data!.createProduct.id;
    await harness.request(UPDATE, { id, input: { description: 'Counted.' } }, harness.adminToken);
    await harness.request(ARCHIVE, { id }, harness.adminToken);
    expect(await harness.count('outbox')).toBe(before + 3);
    expect((await events(id)).map((event) => event.data.active)).toEqual([true, true, false]);
  });
});
