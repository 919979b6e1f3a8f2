import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { onSql, printFederatedSdl } from '../../kit/src';
import { DEMO_CATEGORIES, DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { ProductCategoryEntity, ProductEntity } from '../src/product/product.entity';
import { ProductKind } from '../src/product/product-kind';
import { buildCatalogSchema } from '../src/schema';
import { seedCatalog } from '../src/seeds/catalog.seed';
import { startCatalog, type CatalogHarness } from './harness';

const ENTITIES = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id sku active price { amount } } } }';

describe('catalog as a federation subgraph', () => {
  let harness: CatalogHarness;
  const bulkIds: string[] = [];

  beforeAll(async () => {
    harness = await startCatalog();
    await seedCatalog(harness.server.orm.em.fork(), DEMO_CATEGORIES, DEMO_PRODUCTS);
    const em = harness.server.orm.em.fork();
    const [category] = await em.execute<{ id: string }[]>("select id from category where slug = 'books'");
    for (let index = 0; index < 50; index += 1) {
      const product = em.create(ProductEntity, {
        sku: `BULK-${index}`,
        name: `Bulk item ${index}`,
        description: 'One of many.',
        kind: ProductKind.GOOD,
        priceAmount: index,
        currency: 'USD',
        active: index % 10 !== 0,
      });
      bulkIds.push(product.id);
    }
    await em.flush();
    // Links after products: the ORM does not know that foreign key, so it would not order the inserts.
    for (const productId of bulkIds) em.create(ProductCategoryEntity, { productId, categoryId: category!.id });
    await em.flush();
  });

  afterAll(async () => {
    await harness.close();
  });

  /** Runs `act` and returns every SQL statement the ORM sent meanwhile. */
  const sqlDuring = async (act: () => Promise<void>): Promise<string[]> => {
    const statements: string[] = [];
    const stop = onSql(harness.server.orm, (sql) => statements.push(sql));
    try {
      await act();
    } finally {
      stop();
    }
    return statements;
  };

  it('resolves 50 Product references with one products query', async () => {
    let data: any;
    const statements = await sqlDuring(async () => {
      const result = await harness.request(ENTITIES, { r: bulkIds.map((id) => ({ __typename: 'Product', id })) });
      expect(result.errors).toBeUndefined();
      data = result.data;
    });
    expect(data._entities).toHaveLength(50);
    expect(data._entities.map((entity: { id: string }) => entity.id)).toEqual(bulkIds);
    expect(data._entities[7]).toEqual({ id: bulkIds[7], sku: 'BULK-7', active: true, price: { amount: 7 } });
    // Archived products still resolve: orders keep pointing at them.
    expect(data._entities[10]).toMatchObject({ sku: 'BULK-10', active: false });
    expect(statements.filter((sql) => /from "product"/.test(sql))).toHaveLength(1);
    expect(statements).toHaveLength(1);
  });

  it('batches the categories of many references too', async () => {
    const statements = await sqlDuring(async () => {
      const result = await harness.request('query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { categories { slug } } } }', {
        r: bulkIds.map((id) => ({ __typename: 'Product', id })),
      });
      expect(result.errors).toBeUndefined();
      expect(result.data!._entities.every((entity: { categories: { slug: string }[] }) => entity.categories[0]!.slug === 'books')).toBe(true);
    });
    expect(statements).toHaveLength(2);
  });

  it('answers null for unknown and malformed references without failing the batch', async () => {
    const representations = [
      { __typename: 'Product', id: DEMO_PRODUCTS[0]!.id },
      { __typename: 'Product', id: '00000000-0000-4000-8000-00000000dead' },
      { __typename: 'Product', id: 'not-a-uuid' },
      { __typename: 'Product', id: DEMO_PRODUCTS[0]!.id.toUpperCase() },
    ];
    const statements = await sqlDuring(async () => {
      const result = await harness.request(ENTITIES, { r: representations });
      expect(result.errors).toBeUndefined();
      expect(result.data!._entities.map((entity: { sku: string } | null) => entity?.sku ?? null)).toEqual([DEMO_PRODUCTS[0]!.sku, null, null, DEMO_PRODUCTS[0]!.sku]);
    });
    expect(statements).toHaveLength(1);
  });

  it('resolves Category references', async () => {
    const [category] = await harness.server.orm.em.fork().execute<{ id: string }[]>("select id from category where slug = 'trend'");
    const result = await harness.request('query($r: [_Any!]!) { _entities(representations: $r) { ... on Category { slug parent { slug } } } }', {
      r: [{ __typename: 'Category', id: category!.id }, { __typename: 'Category', id: 'nope' }],
    });
    expect(result.errors).toBeUndefined();
    expect(result.data!._entities).toEqual([{ slug: 'trend', parent: { slug: 'indicators' } }, null]);
  });

  it('prints SDL with the keys, shareable value types and the User reference, and composes', async () => {
    const sdl = printFederatedSdl(await buildCatalogSchema());
    expect(sdl).toMatch(/type Product\s+@key\(fields: "id"\)/);
    expect(sdl).toMatch(/type Money\s+@shareable/);
    expect(sdl).toMatch(/type PageInfo\s+@shareable/);
    expect(sdl).toMatch(/type User\s+@key\(fields: "id", resolvable: false\)/);
    expect(sdl).toMatch(/enum ProductKind \{\s+INDICATOR\s+PLAN\s+GOOD\s+\}/);
    const composed = composeServices([{ name: 'catalog', url: 'http://catalog', typeDefs: parse(sdl) }]);
    expect(composed.errors).toBeUndefined();
  });

  it('answers _service with the SDL', async () => {
    const result = await harness.request('{ _service { sdl } }');
    expect(result.data!._service.sdl).toContain('type Product');
  });
});
