import { randomUUID } from 'node:crypto';
import { openOrm, type MikroORM } from '../../kit/src';
import { testDatabaseUrl } from '../../kit/src/testing';
import { DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { createOrdersEventHandlers } from '../src/order/order.events';
import { ordersEntities, ordersMigrations } from '../src/mikro-orm.config';
import { seedOrders } from '../src/seeds/orders.seed';

describe('seedOrders', () => {
  const database = testDatabaseUrl('orders_seed');
  let orm: MikroORM;
  const snapshots = () =>
    orm.em.fork().getConnection().execute<{ product_id: string; price_amount: number }[]>('select "product_id", "price_amount" from "product_snapshot" order by "product_id"');

  beforeAll(async () => {
    orm = await openOrm({ databaseUrl: database.url, entities: ordersEntities, migrations: ordersMigrations, poolSize: 2 });
  });

  afterAll(async () => {
    await orm?.close();
    await database.drop();
  });

  it('snapshots every demo product once, and yields to any ProductChanged', async () => {
    expect(await seedOrders(orm.em.fork(), DEMO_PRODUCTS)).toBe(DEMO_PRODUCTS.length);
    expect(await seedOrders(orm.em.fork(), DEMO_PRODUCTS)).toBe(0);
    expect(await snapshots()).toHaveLength(DEMO_PRODUCTS.length);

    const product = DEMO_PRODUCTS[0]!;
    const handlers = createOrdersEventHandlers();
    await orm.em.fork().transactional((em) =>
      handlers.ProductChanged!(em, {
        id: randomUUID(),
        type: 'ProductChanged',
        version: 1,
        occurredAt: '2001-01-01T00:00:00.000Z',
        source: 'catalog',
        subject: product.id,
        data: { productId: product.id, sku: product.sku, kind: product.kind, priceAmount: product.priceAmount + 1, currency: product.currency, active: true },
      }),
    );
    expect((await snapshots()).find((row) => row.product_id === product.id)?.price_amount).toBe(product.priceAmount + 1);
  });
});
