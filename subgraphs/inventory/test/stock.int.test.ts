import { randomUUID } from 'node:crypto';
import { createLogger, createTokenVerifier, onSql, OutboxEvent } from '../../kit/src';
import { graphqlRequest, testDatabaseUrl, TestIssuer } from '../../kit/src/testing';
import { readInventoryConfig } from '../src/config';
import { createInventoryServer, type InventoryServer } from '../src/server';

const DEFAULT_THRESHOLD = 5;

const ENTITIES = `query($r: [_Any!]!) {
  _entities(representations: $r) { ... on Product { id stock { productId onHand reserved available lowStockThreshold updatedAt } } }
}`;
const ADJUST = `mutation($productId: ID!, $delta: Int!, $reason: String!) {
  adjustStock(productId: $productId, delta: $delta, reason: $reason) { productId onHand reserved available lowStockThreshold updatedAt }
}`;
const SET_THRESHOLD = `mutation($productId: ID!, $threshold: Int!) {
  setLowStockThreshold(productId: $productId, threshold: $threshold) { productId onHand available lowStockThreshold }
}`;
const MOVEMENTS = `query($productId: ID!, $first: Int) {
  stockMovements(productId: $productId, first: $first) { id productId delta reason onHandAfter actorId createdAt }
}`;

describe('inventory subgraph', () => {
  const database = testDatabaseUrl('inventory');
  let server: InventoryServer;
  let url: string;
  let issuer: TestIssuer;
  let admin: string;
  let customer: string;
  let trader: string;

  const good = (id: string) => ({ __typename: 'Product', id, kind: 'GOOD' });

  const stockOf = async (productId: string) => {
    const result = await graphqlRequest(url, ENTITIES, { variables: { r: [good(productId)] } });
    expect(result.errors).toBeUndefined();
    return result.data!._entities[0].stock;
  };
  /** `token: null` sends no Authorization header. */
  const adjust = (productId: string, delta: number, reason = 'restock', token: string | null = admin) =>
    graphqlRequest(url, ADJUST, { variables: { productId, delta, reason }, token: token ?? undefined });

  const query = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => server.orm.em.fork().getConnection().execute(sql, params);
  const count = async (table: 'stock_level' | 'stock_movement', productId: string): Promise<number> =>
    (await query<{ n: number }>(`select count(*)::int as n from "${table}" where product_id = ?`, [productId]))[0]!.n;
  const outboxFor = (productId: string) => server.orm.em.fork().find(OutboxEvent, { type: 'LowStock', subject: productId });

  beforeAll(async () => {
    issuer = await TestIssuer.create();
    const config = readInventoryConfig({
      DATABASE_URL: database.url,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      EVENTS_ENABLED: 'false',
      LOW_STOCK_DEFAULT_THRESHOLD: String(DEFAULT_THRESHOLD),
    });
    // Reservations and their queues are tested in reservation*.int.test.ts.
    server = await createInventoryServer({ config, log: createLogger('inventory-test', 'silent'), verifyToken: createTokenVerifier(issuer.keys) });
    url = await server.listen(0);
    admin = await issuer.sign('admin-1', 'ADMIN');
    customer = await issuer.sign('customer-1', 'CUSTOMER');
    trader = await issuer.sign('trader-1', 'TRADER');
  });

  afterAll(async () => {
    await server?.close();
    await database.drop();
  });

  describe('Product.stock', () => {
    it('is null for unlimited kinds and zeros with the default threshold for a good without stock', async () => {
      const [indicator, plan, unknownGood] = [randomUUID(), randomUUID(), randomUUID()];
      const result = await graphqlRequest(url, ENTITIES, {
        variables: {
          r: [
            { __typename: 'Product', id: indicator, kind: 'INDICATOR' },
            { __typename: 'Product', id: plan, kind: 'PLAN' },
            good(unknownGood),
          ],
        },
      });
      expect(result.errors).toBeUndefined();
      expect(result.data!._entities).toEqual([
        { id: indicator, stock: null },
        { id: plan, stock: null },
        { id: unknownGood, stock: { productId: unknownGood, onHand: 0, reserved: 0, available: 0, lowStockThreshold: DEFAULT_THRESHOLD, updatedAt: null } },
      ]);
      expect(await count('stock_level', unknownGood)).toBe(0);
    });

    it('asks for the kind when a representation lacks it', async () => {
      const result = await graphqlRequest(url, ENTITIES, { variables: { r: [{ __typename: 'Product', id: randomUUID() }] } });
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.message).toContain('kind');
    });

    it('loads the stock of 50 products in one _entities call with one SQL query', async () => {
      const ids = Array.from({ length: 50 }, () => randomUUID());
      for (const [index, id] of ids.slice(0, 10).entries()) expect((await adjust(id, index + 1)).errors).toBeUndefined();

      const statements: string[] = [];
      const stop = onSql(server.orm, (sql) => statements.push(sql));
      let result;
      try {
        result = await graphqlRequest(url, 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { stock { available } } } }', {
          variables: { r: ids.map(good) },
        });
      } finally {
        stop();
      }
      expect(result.errors).toBeUndefined();
      expect(result.data!._entities).toEqual(ids.map((_, index) => ({ stock: { available: index < 10 ? index + 1 : 0 } })));
      const stockQueries = statements.filter((sql) => /stock_level/.test(sql));
      expect(stockQueries).toHaveLength(1);
      expect(stockQueries[0]).toMatch(/^select/i);
    });
  });

  describe('adjustStock', () => {
    it('adds and removes units and writes one ledger line per change', async () => {
      const productId = randomUUID();
      const up = await adjust(productId, 10, 'received from supplier');
      expect(up.errors).toBeUndefined();
      expect(up.data!.adjustStock).toMatchObject({ productId, onHand: 10, reserved: 0, available: 10, lowStockThreshold: DEFAULT_THRESHOLD });
      expect(Date.parse(up.data!.adjustStock.updatedAt)).not.toBeNaN();

      const down = await adjust(productId, -4, 'damaged');
      expect(down.data!.adjustStock).toMatchObject({ onHand: 6, available: 6 });
      expect(await stockOf(productId)).toMatchObject({ onHand: 6, reserved: 0, available: 6 });

      const ledger = await graphqlRequest(url, MOVEMENTS, { variables: { productId }, token: admin });
      expect(ledger.errors).toBeUndefined();
      expect(ledger.data!.stockMovements).toEqual([
        expect.objectContaining({ productId, delta: -4, reason: 'damaged', onHandAfter: 6, actorId: 'admin-1' }),
        expect.objectContaining({ productId, delta: 10, reason: 'received from supplier', onHandAfter: 10, actorId: 'admin-1' }),
      ]);
      const newest = await graphqlRequest(url, MOVEMENTS, { variables: { productId, first: 1 }, token: admin });
      expect(newest.data!.stockMovements.map((movement: { delta: number }) => movement.delta)).toEqual([-4]);
    });

    it('accepts the largest delta and the longest reason', async () => {
      const productId = randomUUID();
      const result = await adjust(productId, 1_000_000, 'r'.repeat(500));
      expect(result.errors).toBeUndefined();
      expect(result.data!.adjustStock.onHand).toBe(1_000_000);
    });

    it('never lets available go below zero: the refused change writes nothing', async () => {
      const productId = randomUUID();
      await adjust(productId, 6);
      const before = await stockOf(productId);

      const refused = await adjust(productId, -7, 'oversold');
      expect(refused.errors?.[0]?.extensions?.code).toBe('OUT_OF_STOCK');
      expect(refused.errors?.[0]?.message).toMatch(/only 6 available/);
      expect(await stockOf(productId)).toEqual(before);
      expect(await count('stock_movement', productId)).toBe(1);

      // Reserved units cannot be removed either.
      await query('update "stock_level" set "reserved" = 4 where "product_id" = ?', [productId]);
      const intoReserved = await adjust(productId, -3, 'sold elsewhere');
      expect(intoReserved.errors?.[0]?.extensions?.code).toBe('OUT_OF_STOCK');
      expect(await count('stock_movement', productId)).toBe(1);
      const lastUnits = await adjust(productId, -2, 'sold elsewhere');
      expect(lastUnits.data!.adjustStock).toMatchObject({ onHand: 4, reserved: 4, available: 0 });
    });

    it('refuses removing stock of a product with no level and creates no row', async () => {
      const productId = randomUUID();
      const refused = await adjust(productId, -1, 'phantom');
      expect(refused.errors?.[0]?.extensions?.code).toBe('OUT_OF_STOCK');
      expect(await count('stock_level', productId)).toBe(0);
      expect(await count('stock_movement', productId)).toBe(0);
    });

    it('keeps the database constraint: on_hand >= reserved >= 0', async () => {
      const productId = randomUUID();
      await adjust(productId, 3);
      await expect(query('update "stock_level" set "reserved" = 4 where "product_id" = ?', [productId])).rejects.toThrow(/stock_level_on_hand_check/);
      await expect(query('update "stock_level" set "reserved" = -1 where "product_id" = ?', [productId])).rejects.toThrow(/stock_level_reserved_check/);
      expect(await stockOf(productId)).toMatchObject({ onHand: 3, reserved: 0 });
    });

    it('applies 20 concurrent adjustments without losing any', async () => {
      const productId = randomUUID();
      const deltas = Array.from({ length: 20 }, (_, index) => index + 1);
      const results = await Promise.all(deltas.map((delta) => adjust(productId, delta, `batch ${delta}`)));
      expect(results.flatMap((result) => result.errors ?? [])).toEqual([]);
      const total = deltas.reduce((sum, delta) => sum + delta, 0);
      expect(await stockOf(productId)).toMatchObject({ onHand: total, available: total });

      const rows = await query<{ delta: number; on_hand_after: number }>(
        'select "delta", "on_hand_after" from "stock_movement" where "product_id" = ? order by "id"',
        [productId],
      );
      expect(rows).toHaveLength(20);
      let running = 0;
      for (const row of rows) {
        running += row.delta;
        expect(row.on_hand_after).toBe(running);
      }
    });

    it('sells the last units once when 20 removals race for 10 units', async () => {
      const productId = randomUUID();
      await adjust(productId, 10);
      const results = await Promise.all(Array.from({ length: 20 }, () => adjust(productId, -1, 'sale')));
      const codes = results.map((result) => result.errors?.[0]?.extensions?.code ?? 'OK');
      expect(codes.filter((code) => code === 'OK')).toHaveLength(10);
      expect(codes.filter((code) => code === 'OUT_OF_STOCK')).toHaveLength(10);
      expect(await stockOf(productId)).toMatchObject({ onHand: 0, available: 0 });
      expect(await count('stock_movement', productId)).toBe(11);
    });
  });

  describe('low stock', () => {
    it('emits LowStock when available crosses the threshold, not again while below, and again after re-arming', async () => {
      const productId = randomUUID();
      const threshold = await graphqlRequest(url, SET_THRESHOLD, { variables: { productId, threshold: 10 }, token: admin });
      expect(threshold.errors).toBeUndefined();
      expect(threshold.data!.setLowStockThreshold).toEqual({ productId, onHand: 0, available: 0, lowStockThreshold: 10 });

      await adjust(productId, 20); // 0 -> 20: rises above, nothing to report
      expect(await outboxFor(productId)).toHaveLength(0);

      await adjust(productId, -9); // 20 -> 11: still above
      expect(await outboxFor(productId)).toHaveLength(0);

      await adjust(productId, -1); // 11 -> 10: crosses to "at the threshold"
      const first = await outboxFor(productId);
      expect(first).toHaveLength(1);
      expect(first[0]).toMatchObject({
        source: 'inventory',
        type: 'LowStock',
        subject: productId,
        version: 1,
        publishedAt: null,
        data: { productId, onHand: 10, reserved: 0, available: 10, previousAvailable: 11, lowStockThreshold: 10 },
      });

      await adjust(productId, -3); // 10 -> 7: stays below
      await adjust(productId, 2); // 7 -> 9: still below
      expect(await outboxFor(productId)).toHaveLength(1);

      await adjust(productId, 5); // 9 -> 14: back above, re-armed
      expect(await outboxFor(productId)).toHaveLength(1);

      await adjust(productId, -6); // 14 -> 8: crosses again
      const events = await outboxFor(productId);
      expect(events).toHaveLength(2);
      expect(events.map((event) => event.data.available).sort()).toEqual([10, 8].sort());
    });

    it('writes no event when the adjustment is refused', async () => {
      const productId = randomUUID();
      await adjust(productId, 8); // threshold 5 by default
      const refused = await adjust(productId, -9, 'too many');
      expect(refused.errors?.[0]?.extensions?.code).toBe('OUT_OF_STOCK');
      expect(await outboxFor(productId)).toHaveLength(0);
    });

    it('changes the threshold without touching the units', async () => {
      const productId = randomUUID();
      await adjust(productId, 30);
      const result = await graphqlRequest(url, SET_THRESHOLD, { variables: { productId, threshold: 0 }, token: admin });
      expect(result.data!.setLowStockThreshold).toEqual({ productId, onHand: 30, available: 30, lowStockThreshold: 0 });
      expect(await stockOf(productId)).toMatchObject({ onHand: 30, lowStockThreshold: 0 });
      expect(await count('stock_movement', productId)).toBe(1);
    });
  });

  describe('access', () => {
    it('refuses other roles with FORBIDDEN and anonymous callers with UNAUTHENTICATED, writing nothing', async () => {
      const productId = randomUUID();
      expect((await adjust(productId, 5, 'x', customer)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect((await adjust(productId, 5, 'x', trader)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect((await adjust(productId, 5, 'x', null)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      // The role is checked before the arguments.
      expect((await adjust(productId, 0, '', null)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

      const threshold = await graphqlRequest(url, SET_THRESHOLD, { variables: { productId, threshold: 3 }, token: customer });
      expect(threshold.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const anonymousThreshold = await graphqlRequest(url, SET_THRESHOLD, { variables: { productId, threshold: 3 } });
      expect(anonymousThreshold.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

      expect((await graphqlRequest(url, MOVEMENTS, { variables: { productId }, token: trader })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect((await graphqlRequest(url, MOVEMENTS, { variables: { productId } })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

      expect(await count('stock_level', productId)).toBe(0);
      expect(await count('stock_movement', productId)).toBe(0);
    });

    it('lets anyone read Product.stock', async () => {
      const productId = randomUUID();
      await adjust(productId, 4);
      const result = await graphqlRequest(url, ENTITIES, { variables: { r: [good(productId)] }, token: customer });
      expect(result.data!._entities[0].stock).toMatchObject({ available: 4 });
    });
  });

  describe('input validation', () => {
    it.each([
      ['delta 0', { delta: 0 }, 'delta'],
      ['delta above 1,000,000', { delta: 1_000_001 }, 'delta'],
      ['delta below -1,000,000', { delta: -1_000_001 }, 'delta'],
      ['empty reason', { reason: '' }, 'reason'],
      ['blank reason', { reason: '   ' }, 'reason'],
      ['reason over 500 characters', { reason: 'r'.repeat(501) }, 'reason'],
      ['product id over 100 characters', { productId: 'p'.repeat(101) }, 'productId'],
    ])('refuses %s with BAD_USER_INPUT and writes nothing', async (_name, change, field) => {
      const productId = randomUUID();
      await adjust(productId, 10);
      const variables = { productId, delta: 5, reason: 'valid', ...change };
      const result = await graphqlRequest(url, ADJUST, { variables, token: admin });
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.extensions?.fields?.map((problem: { field: string }) => problem.field)).toContain(field);
      expect(await stockOf(productId)).toMatchObject({ onHand: 10 });
      expect(await count('stock_movement', productId)).toBe(1);
      expect(await count('stock_movement', variables.productId)).toBe(variables.productId === productId ? 1 : 0);
    });

    it('refuses a negative or huge threshold and a bad page size', async () => {
      const productId = randomUUID();
      for (const threshold of [-1, 1_000_001]) {
        const result = await graphqlRequest(url, SET_THRESHOLD, { variables: { productId, threshold }, token: admin });
        expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      }
      expect(await count('stock_level', productId)).toBe(0);
      for (const first of [0, 201]) {
        const result = await graphqlRequest(url, MOVEMENTS, { variables: { productId, first }, token: admin });
        expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      }
    });
  });

  it('serves health and readiness', async () => {
    const base = url.replace('/graphql', '');
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok', service: 'inventory' });
    expect(await (await fetch(`${base}/ready`)).json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
  });
});
