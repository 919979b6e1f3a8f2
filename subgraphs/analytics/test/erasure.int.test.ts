import { randomUUID } from 'node:crypto';
import { applyEvent } from '../../kit/src/events/testing';
import { startHarness, type Harness } from './harness';
import { envelope, fillExecuted, tradeOrderUpdated, userDeleted, userRegistered } from './support';

jest.setTimeout(60_000);

/** The KPIs' "now": every event of this file happens around it. */
const NOW = new Date('2031-06-10T12:30:00.000Z');
const TODAY = '2031-06-10';
const YESTERDAY = '2031-06-09';
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);
/** Bound on every wait: a missing event fails the test instead of hanging it. */
const WAIT_MS = 15_000;

const KPIS = `{ kpis { signupsToday tradingVolume24h { quote fills volume } tradeOrdersToday } }`;
const TRADING_STATS = `query Stats($id: ID!) { _entities(representations: [{ __typename: "User", id: $id }]) { ... on User { tradingStats { quote fills } } } }`;

describe('analytics erasure on UserDeleted (real Postgres, Redis and BullMQ)', () => {
  let harness: Harness;
  let admin: string;
  const leaving = randomUUID();
  const staying = randomUUID();
  const leavingOrders = [randomUUID(), randomUUID(), randomUUID()];

  beforeAll(async () => {
    harness = await startHarness('analytics_erasure', { clock: () => NOW });
    admin = await harness.issuer.sign(randomUUID(), 'ADMIN');
    await harness.deliverAll([
      userRegistered(minutesAgo(120), leaving),
      userRegistered(minutesAgo(110), staying),
      fillExecuted({ userId: leaving, quantity: '1', price: '100', executedAt: minutesAgo(60) }),
      fillExecuted({ userId: leaving, symbol: 'ETH/USDC', quantity: '2', price: '10', executedAt: minutesAgo(50) }),
      fillExecuted({ userId: staying, quantity: '3', price: '100', executedAt: minutesAgo(40) }),
      tradeOrderUpdated(leavingOrders[0]!, leaving, 'NEW', minutesAgo(60)),
      tradeOrderUpdated(leavingOrders[1]!, leaving, 'FILLED', minutesAgo(50)),
      tradeOrderUpdated(leavingOrders[2]!, leaving, 'OPEN', new Date(NOW.getTime() - 24 * 3600_000)),
      tradeOrderUpdated(randomUUID(), staying, 'FILLED', minutesAgo(40)),
    ]);
  });

  afterAll(async () => {
    await harness?.close();
  });

  const kpis = async () => {
    const response = await harness.query(KPIS, {}, admin);
    expect(response.errors).toBeUndefined();
    return response.data!.kpis;
  };
  /** Every row analytics keys by the user. */
  const rowsOf = async (userId: string) => ({
    trading_stats: await harness.sql(`select "quote", "fills", "volume"::text as "volume", "fees"::text as "fees", "last_fill_at" from "trading_stats" where "user_id" = ? order by "quote"`, [userId]),
    trade_order_state: await harness.sql(`select * from "trade_order_state" where "user_id" = ? order by "order_id"`, [userId]),
    erased_user: await harness.sql(`select "user_id" from "erased_user" where "user_id" = ?`, [userId]),
  });
  const erasedOnly = (userId: string) => ({ trading_stats: [], trade_order_state: [], erased_user: [{ user_id: userId }] });
  const erasedOrders = () => harness.sql(`select to_char("day", 'YYYY-MM-DD') as "day", "orders" from "daily_erased_trade_orders" order by "day"`);
  const hourly = () => harness.sql(`select "hour", "quote", "fills", "volume"::text as "volume", "fees"::text as "fees" from "hourly_trading" order by "hour", "quote"`);
  /** Tables and text columns of the database that hold `text` somewhere. */
  const storedAnywhere = async (text: string): Promise<string[]> => {
    const columns = await harness.sql<{ table_name: string; column_name: string }>(
      `select "table_name", "column_name" from information_schema.columns where table_schema = 'public' and data_type in ('text', 'character varying', 'character', 'jsonb')`,
    );
    const found: string[] = [];
    for (const { table_name, column_name } of columns) {
      const [row] = await harness.sql<{ n: number }>(`select count(*)::int as "n" from "${table_name}" where "${column_name}"::text like ?`, [`%${text}%`]);
      if (row!.n > 0) found.push(`${table_name}.${column_name}`);
    }
    return found;
  };
  /** Resolves once a backend of this database waits on an advisory lock (Postgres reports no event for it). */
  const advisoryLockWaited = async (): Promise<void> => {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const [row] = await harness.sql<{ n: number }>(`select count(*)::int as "n" from pg_stat_activity where datname = current_database() and wait_event = 'advisory'`);
      if (row!.n > 0) return;
      if (Date.now() > deadline) throw new Error(`nothing waited on the user's lock within ${WAIT_MS} ms`);
    }
  };

  it("deletes the user's trading figures and trade order states, keeps the other user's, and leaves every KPI as it was", async () => {
    // UserRegistered's email and name never reach a table: only the day of the signup counts.
    expect(await storedAnywhere(`${leaving}@example.com`)).toEqual([]);
    const before = await kpis();
    expect(before).toEqual({
      signupsToday: 2,
      tradingVolume24h: [
        { quote: 'USDC', fills: 1, volume: '20' },
        { quote: 'USDT', fills: 2, volume: '400' },
      ],
      tradeOrdersToday: 3,
    });
    const hours = await hourly();
    const theirs = await rowsOf(staying);
    const mine = await rowsOf(leaving);
    expect([mine.trading_stats.length, mine.trade_order_state.length]).toEqual([2, 3]);

    expect(await harness.deliver(userDeleted(leaving))).toBe('processed');

    expect(await rowsOf(leaving)).toEqual(erasedOnly(leaving));
    expect(await rowsOf(staying)).toEqual(theirs);
    expect(await storedAnywhere(leaving)).toEqual(['erased_user.user_id']);
    // The erased orders count on the day they were first seen.
    expect(await erasedOrders()).toEqual([
      { day: YESTERDAY, orders: 1 },
      { day: TODAY, orders: 2 },
    ]);
    expect(await kpis()).toEqual(before);
    expect(await hourly()).toEqual(hours);
    expect((await harness.query(TRADING_STATS, { id: leaving }, admin)).data!._entities[0].tradingStats).toEqual([]);
    expect((await harness.query(TRADING_STATS, { id: staying }, admin)).data!._entities[0].tradingStats).toEqual([{ quote: 'USDT', fills: 1 }]);
  });

  it('changes nothing when redelivered or sent again, and succeeds for a user it never saw', async () => {
    const before = await kpis();
    const counted = await erasedOrders();
    const again = userDeleted(leaving);
    expect(await harness.deliver(again)).toBe('processed');
    expect(await harness.deliver(again, `${again.id}-again`)).toBe('duplicate');
    expect(await rowsOf(leaving)).toEqual(erasedOnly(leaving));
    expect(await erasedOrders()).toEqual(counted);
    expect(await kpis()).toEqual(before);

    const stranger = randomUUID();
    expect(await harness.deliver(userDeleted(stranger))).toBe('processed');
    expect(await rowsOf(stranger)).toEqual(erasedOnly(stranger));
  });

  it('fails a malformed UserDeleted at once, without retries, and erases nothing', async () => {
    const theirs = await rowsOf(staying);
    const malformed = [envelope('UserDeleted', 'users', { deletedAt: NOW.toISOString() }, NOW, staying), envelope('UserDeleted', 'users', { userId: 'someone' }, NOW, staying)];
    const results = await harness.deliverTogether(malformed);
    for (const result of results) expect(result).toEqual({ outcome: 'failed', result: expect.stringMatching(/data.userId must be a uuid/), attemptsMade: 1 });
    expect(await harness.sql('select 1 from "inbox" where "event_id" in (?, ?)', malformed.map((event) => event.id))).toEqual([]);
    expect(await rowsOf(staying)).toEqual(theirs);
  });

  it('writes no per-user row for a fill or order update that comes after the erasure, and counts the fill in its hour', async () => {
    const before = await kpis();
    const late = [
      fillExecuted({ userId: leaving, quantity: '1', price: '50', executedAt: minutesAgo(5) }),
      // trading cancelling an order counted before the erasure, and an order never seen.
      tradeOrderUpdated(leavingOrders[0]!, leaving, 'CANCELLED', minutesAgo(5)),
      tradeOrderUpdated(randomUUID(), leaving, 'CANCELLED', minutesAgo(5)),
    ];
    for (const event of late) expect(await harness.deliver(event)).toBe('processed');

    expect(await rowsOf(leaving)).toEqual(erasedOnly(leaving));
    expect(await kpis()).toEqual({
      ...before,
      tradingVolume24h: [
        { quote: 'USDC', fills: 1, volume: '20' },
        { quote: 'USDT', fills: 3, volume: '450' },
      ],
    });
    // The other user's still count per user.
    expect(await harness.deliver(fillExecuted({ userId: staying, quantity: '1', price: '50', executedAt: minutesAgo(4) }))).toBe('processed');
    expect((await rowsOf(staying)).trading_stats).toEqual([expect.objectContaining({ quote: 'USDT', fills: 2, volume: '350' })]);
  });

  it('fits the consumer batches: an erasure among other events of its user keeps none of their rows, and a malformed one fails alone', async () => {
    const [gone, kept] = [randomUUID(), randomUUID()];
    const usdtFills = async (): Promise<number> => (await kpis()).tradingVolume24h.find((row: { quote: string }) => row.quote === 'USDT').fills;
    const fillsBefore = await usdtFills();
    const batch = [
      fillExecuted({ userId: gone, quantity: '1', price: '1', executedAt: minutesAgo(3) }),
      tradeOrderUpdated(randomUUID(), gone, 'NEW', minutesAgo(3)),
      userDeleted(gone),
      fillExecuted({ userId: gone, quantity: '1', price: '1', executedAt: minutesAgo(2) }),
      fillExecuted({ userId: kept, quantity: '1', price: '1', executedAt: minutesAgo(2) }),
    ];
    expect((await harness.deliverTogether(batch)).map((result) => result.outcome)).toEqual(batch.map(() => 'completed'));
    expect(await rowsOf(gone)).toEqual(erasedOnly(gone));
    expect((await rowsOf(kept)).trading_stats).toEqual([expect.objectContaining({ quote: 'USDT', fills: 1 })]);
    expect(await usdtFills()).toBe(fillsBefore + 3);

    // The batch fails as a whole, then its events are applied one by one.
    const withMalformed = [userDeleted(kept), envelope('UserDeleted', 'users', {}, NOW), fillExecuted({ userId: kept, quantity: '1', price: '1', executedAt: minutesAgo(1) })];
    expect((await harness.deliverTogether(withMalformed)).map((result) => result.outcome)).toEqual(['completed', 'failed', 'completed']);
    expect(await rowsOf(kept)).toEqual(erasedOnly(kept));
    expect(await usdtFills()).toBe(fillsBefore + 4);
  });

  it.each([
    ['an erasure that is committing holds back a fill of its user', 'UserDeleted'],
    ['a fill that is committing holds back the erasure of its user', 'FillExecuted'],
  ])('orders concurrent transactions: %s, which then keeps no per-user row', async (_, first) => {
    const userId = randomUUID();
    const { orm, handlers } = harness.server;
    const erasure = userDeleted(userId);
    const fill = fillExecuted({ userId, quantity: '1', price: '1', executedAt: minutesAgo(1) });
    const [held, waiting] = first === 'UserDeleted' ? [erasure, fill] : [fill, erasure];
    let applied!: () => void;
    let commit!: () => void;
    const inTransaction = new Promise<void>((resolve) => (applied = resolve));
    const committing = new Promise<void>((resolve) => (commit = resolve));
    const holding = orm.em.fork().transactional(async (em) => {
      await handlers[held.type]!(em, held);
      applied();
      await committing;
    });
    await inTransaction;
    const second = applyEvent(orm.em, handlers[waiting.type]!, waiting);
    await advisoryLockWaited();
    commit();
    await holding;
    await second;
    expect(await rowsOf(userId)).toEqual(erasedOnly(userId));
  });
});
