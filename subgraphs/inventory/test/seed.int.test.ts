import { openOrm, type MikroORM } from '../../kit/src';
import { testDatabaseUrl } from '../../kit/src/testing';
import { DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { inventoryEntities, inventoryMigrations } from '../src/mikro-orm.config';
import { SEED_ACTOR_ID, seedInventory } from '../src/seeds/inventory.seed';

describe('seedInventory', () => {
  const database = testDatabaseUrl('inventory_seed');
  let orm: MikroORM;

  const levels = () =>
    orm.em.fork().getConnection().execute<{ product_id: string; on_hand: number; reserved: number; low_stock_threshold: number }[]>(
      'select "product_id", "on_hand", "reserved", "low_stock_threshold" from "stock_level" order by "product_id"',
    );
  const movements = () =>
    orm.em.fork().getConnection().execute<{ product_id: string; delta: number; on_hand_after: number; actor_id: string }[]>(
      'select "product_id", "delta", "on_hand_after", "actor_id" from "stock_movement" order by "product_id"',
    );

  beforeAll(async () => {
    orm = await openOrm({ databaseUrl: database.url, entities: inventoryEntities, migrations: inventoryMigrations, poolSize: 2 });
  });

  afterAll(async () => {
    await orm?.close();
    await database.drop();
  });

  it('gives every product with stock a level and a ledger line, and is idempotent', async () => {
    const stocked = DEMO_PRODUCTS.filter((product) => product.stock).sort((a, b) => a.id.localeCompare(b.id));
    expect(stocked.length).toBeGreaterThan(0);

    await seedInventory(orm.em.fork(), DEMO_PRODUCTS);
    const expectedLevels = stocked.map((product) => ({
      product_id: product.id,
      on_hand: product.stock!.onHand,
      reserved: 0,
      low_stock_threshold: product.stock!.lowStockThreshold,
    }));
    expect(await levels()).toEqual(expectedLevels);
    // A product seeded with 0 units gets a level but no ledger line (a movement never has delta 0).
    const expectedMovements = stocked
      .filter((product) => product.stock!.onHand !== 0)
      .map((product) => ({ product_id: product.id, delta: product.stock!.onHand, on_hand_after: product.stock!.onHand, actor_id: SEED_ACTOR_ID }));
    expect(await movements()).toEqual(expectedMovements);

    await seedInventory(orm.em.fork(), DEMO_PRODUCTS);
    expect(await levels()).toEqual(expectedLevels);
    expect(await movements()).toEqual(expectedMovements);
  });

  it('leaves stock changed since the first seed alone', async () => {
    const wallet = DEMO_PRODUCTS.find((product) => product.sku === 'GOOD-HW-WALLET')!;
    await orm.em.fork().getConnection().execute('update "stock_level" set "on_hand" = 3 where "product_id" = ?', [wallet.id]);
    await seedInventory(orm.em.fork(), DEMO_PRODUCTS);
    expect((await levels()).find((level) => level.product_id === wallet.id)?.on_hand).toBe(3);
  });

  it('does nothing for products without stock', async () => {
    const before = await levels();
    await seedInventory(orm.em.fork(), DEMO_PRODUCTS.filter((product) => !product.stock));
    expect(await levels()).toEqual(before);
  });
});
