import { DEMO_CATEGORIES, DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { seedCatalog } from '../src/seeds/catalog.seed';
import { startCatalog, type CatalogHarness } from './harness';

describe('catalog seed', () => {
  let harness: CatalogHarness;

  beforeAll(async () => {
    harness = await startCatalog();
  });

  afterAll(async () => {
    await harness.close();
  });

  it('seeds the demo data once and skips it the second time', async () => {
    const first = await seedCatalog(harness.server.orm.em.fork(), DEMO_CATEGORIES, DEMO_PRODUCTS);
    expect(first).toEqual({ categoriesCreated: DEMO_CATEGORIES.length, productsCreated: DEMO_PRODUCTS.length });
    const second = await seedCatalog(harness.server.orm.em.fork(), DEMO_CATEGORIES, DEMO_PRODUCTS);
    expect(second).toEqual({ categoriesCreated: 0, productsCreated: 0 });

    expect(await harness.count('product')).toBe(20);
    expect(await harness.count('category')).toBe(DEMO_CATEGORIES.length);
    expect(await harness.count('product_category')).toBe(20);
    // One ProductChanged per product created, none for the skipped second run.
    expect(await harness.count('outbox')).toBe(20);
  });

  it('keeps the given ids and links each product to its category', async () => {
    const wallet = DEMO_PRODUCTS.find((product) => product.sku === 'GOOD-HW-WALLET')!;
    const result = await harness.request(`query($id: ID!) { product(id: $id) { id sku kind price { amount currency } attributes categories { slug parent { slug } } } }`, { id: wallet.id });
    expect(result.errors).toBeUndefined();
    expect(result.data!.product).toEqual({
      id: wallet.id,
      sku: wallet.sku,
      kind: 'GOOD',
      price: { amount: wallet.priceAmount, currency: 'USD' },
      attributes: wallet.attributes,
      categories: [{ slug: 'hardware', parent: { slug: 'goods' } }],
    });
  });

  it('lists the seeded products newest first in demo order', async () => {
    const result = await harness.request('{ products { edges { node { id } } totalCount } }');
    expect(result.data!.products.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual(DEMO_PRODUCTS.map((product) => product.id));
    expect(result.data!.products.totalCount).toBe(20);
  });

  it('adds only what is missing when the data grows', async () => {
    const extra = { ...DEMO_PRODUCTS[0]!, id: '00000000-0000-4000-8000-000000000099', sku: 'IND-EXTRA' };
    const result = await seedCatalog(harness.server.orm.em.fork(), DEMO_CATEGORIES, [...DEMO_PRODUCTS, extra]);
    expect(result).toEqual({ categoriesCreated: 0, productsCreated: 1 });
    expect(await harness.count('product')).toBe(21);
  });
});
