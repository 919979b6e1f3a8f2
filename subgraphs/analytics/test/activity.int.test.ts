import { randomUUID } from 'node:crypto';
import { startHarness, type Harness } from './harness';
import {
  envelope,
  fillExecuted,
  lowStock,
  paymentSucceeded,
  planChanged,
  signalReceived,
  signalResolved,
  signalScreenshotReady,
  tradeOrderUpdated,
  userRegistered,
  orderCancelled,
  orderConfirmed,
} from './support';

jest.setTimeout(60_000);

/** The KPIs' "now": every event of this file happens around it. */
const NOW = new Date('2031-05-05T12:30:00.000Z');
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 24 * 3600_000);

const TRADING_STATS = `query Stats($id: ID!) {
  _entities(representations: [{ __typename: "User", id: $id }]) { ... on User { tradingStats { quote fills volume fees lastFillAt } } }
}`;

const KPIS = `{ kpis {
  asOf today signupsToday signups30d ordersToday revenueToday { amount currency } checkoutConversion30d paymentFailuresToday
  tradingVolume24h { quote fills volume } tradeOrdersToday signalsToday signalsResolvedToday lowStockAlertsToday planChangesToday
} }`;

describe('analytics trading, signals, users and KPIs (real Postgres, Redis and BullMQ)', () => {
  let harness: Harness;
  let admin: string;

  beforeAll(async () => {
    harness = await startHarness('analytics_activity', { clock: () => NOW });
    admin = await harness.issuer.sign(randomUUID(), 'ADMIN');
  });

  afterAll(async () => {
    await harness?.close();
  });

  const tradingStats = (userId: string, token?: string) => harness.query(TRADING_STATS, { id: userId }, token);

  it('adds fills to their user per quote currency, exactly, once each', async () => {
    const trader = randomUUID();
    const fills = [
      fillExecuted({ userId: trader, symbol: 'BTC/USDT', quantity: '0.015', price: '67250.10', fee: '1.00875150', executedAt: minutesAgo(90) }),
      fillExecuted({ userId: trader, symbol: 'ETH/USDT', side: 'SELL', quantity: '0.3', price: '3480.01', fee: '0.0003', feeCurrency: 'ETH', executedAt: minutesAgo(30) }),
      fillExecuted({ userId: trader, symbol: 'SOL/USDC', quantity: '10', price: '168.5', fee: '0.01', feeCurrency: 'BNB', executedAt: minutesAgo(10) }),
    ];
    await harness.deliverAll(fills);
    expect(await harness.deliver(fills[0]!, `${fills[0]!.id}-again`)).toBe('duplicate');

    const token = await harness.issuer.sign(trader, 'TRADER');
    const result = await tradingStats(trader, token);
    expect(result.errors).toBeUndefined();
    expect(result.data!._entities[0].tradingStats).toEqual([
      { quote: 'USDC', fills: 1, volume: '1685', fees: '0', lastFillAt: minutesAgo(10).toISOString() },
      // 1008.7515 + 1044.003; fees 1.0087515 + 0.0003 ETH valued at 3480.01 (1.044003).
      { quote: 'USDT', fills: 2, volume: '2052.7545', fees: '2.0527545', lastFillAt: minutesAgo(30).toISOString() },
    ]);
  });

  it('shows trading stats to the user themself and ADMINs only', async () => {
    const owner = randomUUID();
    await harness.deliver(fillExecuted({ userId: owner, quantity: '1', price: '2', executedAt: minutesAgo(5) }));
    const other = await tradingStats(owner, await harness.issuer.sign(randomUUID(), 'TRADER'));
    expect(other.errors?.[0]).toMatchObject({ path: ['_entities', 0, 'tradingStats'], extensions: { code: 'FORBIDDEN' } });
    expect(other.data!._entities[0].tradingStats).toBeNull();
    const anonymous = await tradingStats(owner);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const asAdmin = await tradingStats(owner, admin);
    expect(asAdmin.data!._entities[0].tradingStats).toEqual([{ quote: 'USDT', fills: 1, volume: '2', fees: '0', lastFillAt: minutesAgo(5).toISOString() }]);
    const nobody = await tradingStats(randomUUID(), admin);
    expect(nobody.data!._entities[0].tradingStats).toEqual([]);
  });

  it('keeps the latest state of each trade order, whatever order its updates arrive in', async () => {
    const orderId = randomUUID();
    const userId = randomUUID();
    await harness.deliverAll([tradeOrderUpdated(orderId, userId, 'FILLED', minutesAgo(1)), tradeOrderUpdated(orderId, userId, 'NEW', minutesAgo(2))]);
    const rows = await harness.sql<{ status: string; first_seen_at: string; updated_at: string }>(`select "status", "first_seen_at", "updated_at" from "trade_order_state" where "order_id" = ?`, [orderId]);
    expect(rows.map((row) => ({ status: row.status, firstSeenAt: new Date(row.first_seen_at), updatedAt: new Date(row.updated_at) }))).toEqual([
      { status: 'FILLED', firstSeenAt: minutesAgo(2), updatedAt: minutesAgo(1) },
    ]);
  });

  it('adds a batch of fills and order updates exactly as one by one: sums per user and hour, latest state, first seen', async () => {
    const [first, second] = [randomUUID(), randomUUID()];
    const [orderA, orderB] = [randomUUID(), randomUUID()];
    // Ten days back, out of every "today" and "24 h" figure the KPI test reads.
    const at = (minutes: number) => new Date(daysAgo(10).getTime() + minutes * 60_000);
    const hour = new Date('2031-04-25T12:00:00.000Z');
    const batch = [
      fillExecuted({ userId: first, symbol: 'BTC/USDC', quantity: '0.1', price: '60000', fee: '0.6', feeCurrency: 'USDC', executedAt: at(-20) }),
      tradeOrderUpdated(orderA, first, 'NEW', at(-100)),
      fillExecuted({ userId: first, symbol: 'ETH/USDC', quantity: '2', price: '3000.5', fee: '0.002', feeCurrency: 'ETH', executedAt: at(-10) }),
      tradeOrderUpdated(orderA, first, 'FILLED', at(-90)),
      fillExecuted({ userId: second, symbol: 'BTC/USDC', quantity: '0.3', price: '60010', fee: '0', feeCurrency: 'USDC', executedAt: at(0) }),
      tradeOrderUpdated(orderB, second, 'PARTIALLY_FILLED', at(-80)),
      tradeOrderUpdated(orderB, second, 'NEW', at(-85)),
      tradeOrderUpdated(orderA, first, 'PARTIALLY_FILLED', at(-95)),
    ];
    expect((await harness.deliverTogether(batch)).map((result) => result.outcome)).toEqual(batch.map(() => 'completed'));

    const stats = await harness.sql<{ user_id: string; fills: number; volume: string; fees: string; last_fill_at: string }>(
      `select "user_id", "fills", "volume"::text as "volume", "fees"::text as "fees", "last_fill_at" from "trading_stats" where "user_id" in (?, ?) order by "fills" desc`,
      [first, second],
    );
    expect(stats.map((row) => ({ ...row, last_fill_at: new Date(row.last_fill_at) }))).toEqual([
      // 6000 + 6001; fees 0.6 USDC + 0.002 ETH at 3000.5 (6.001).
      { user_id: first, fills: 2, volume: '12001', fees: '6.601', last_fill_at: at(-10) },
      { user_id: second, fills: 1, volume: '18003', fees: '0', last_fill_at: at(0) },
    ]);
    expect(await harness.sql(`select "fills", "volume"::text as "volume" from "hourly_trading" where "hour" = ? and "quote" = 'USDC'`, [hour])).toEqual([{ fills: 3, volume: '30004' }]);
    const states = await harness.sql<{ order_id: string; status: string; first_seen_at: string; updated_at: string }>(
      `select "order_id", "status", "first_seen_at", "updated_at" from "trade_order_state" where "order_id" in (?, ?) order by "first_seen_at"`,
      [orderA, orderB],
    );
    expect(states.map((row) => ({ ...row, first_seen_at: new Date(row.first_seen_at), updated_at: new Date(row.updated_at) }))).toEqual([
      { order_id: orderA, status: 'FILLED', first_seen_at: at(-100), updated_at: at(-90) },
      { order_id: orderB, status: 'PARTIALLY_FILLED', first_seen_at: at(-85), updated_at: at(-80) },
    ]);
  });

  it('counts the latest result of a signal on the day it was resolved', async () => {
    const userId = randomUUID();
    const [marked, stale] = [randomUUID(), randomUUID()];
    const yesterday = daysAgo(1);
    await harness.deliverAll([
      signalReceived(userId, minutesAgo(50), marked),
      signalScreenshotReady(marked, userId, minutesAgo(49)),
      signalResolved(marked, userId, 'WIN', yesterday),
      // The owner marks it again today: the WIN of yesterday is taken back.
      signalResolved(marked, userId, 'LOSS', minutesAgo(20), true),
      signalReceived(userId, minutesAgo(40), stale),
      signalResolved(stale, userId, 'SKIP', minutesAgo(10), true),
      // An older resolution arriving late changes nothing.
      signalResolved(stale, userId, 'WIN', minutesAgo(15)),
    ]);
    const rows = await harness.sql<Record<string, unknown>>(
      `select to_char("day", 'YYYY-MM-DD') as "day", "received", "screenshots", "wins", "losses", "skips" from "signal_stats" where "day" in (?::date, ?::date) order by "day"`,
      [yesterday.toISOString().slice(0, 10), NOW.toISOString().slice(0, 10)],
    );
    expect(rows).toEqual([
      { day: yesterday.toISOString().slice(0, 10), received: 0, screenshots: 0, wins: 0, losses: 0, skips: 0 },
      { day: '2031-05-05', received: 2, screenshots: 1, wins: 0, losses: 1, skips: 1 },
    ]);
  });

  it('gives ADMINs the KPIs of today, the last 24 hours and the last 30 days', async () => {
    // The earlier tests of this file sent fills, trade orders and signals; these add the rest.
    const orderId = randomUUID();
    await harness.deliverAll([
      userRegistered(minutesAgo(60)),
      userRegistered(daysAgo(3)),
      userRegistered(daysAgo(40)),
      planChanged(randomUUID(), 'PRO', minutesAgo(5)),
      paymentSucceeded(orderId, 4_900, minutesAgo(20)),
      paymentSucceeded(randomUUID(), 1_000, minutesAgo(20), 'EUR'),
      orderConfirmed(orderId, [{ productId: randomUUID(), quantity: 1 }], minutesAgo(20)),
      orderConfirmed(randomUUID(), [{ productId: randomUUID(), quantity: 1 }], daysAgo(10)),
      orderCancelled(randomUUID(), daysAgo(2)),
      lowStock(randomUUID(), 2, minutesAgo(3)),
      lowStock(randomUUID(), 1, daysAgo(1)),
      // Outside the rolling 24 h.
      fillExecuted({ userId: randomUUID(), quantity: '100', price: '1', executedAt: new Date(NOW.getTime() - 25 * 3600_000) }),
      envelope('SignalReceived', 'signals', {}, minutesAgo(1)),
    ]);
    const result = await harness.query(KPIS, {}, admin);
    expect(result.errors).toBeUndefined();
    expect(result.data!.kpis).toEqual({
      asOf: NOW.toISOString(),
      today: '2031-05-05',
      signupsToday: 1,
      signups30d: 2,
      ordersToday: 2,
      revenueToday: [
        { amount: 1_000, currency: 'EUR' },
        { amount: 4_900, currency: 'USD' },
      ],
      checkoutConversion30d: '66.67',
      paymentFailuresToday: 0,
      tradingVolume24h: [
        { quote: 'USDC', fills: 1, volume: '1685' },
        { quote: 'USDT', fills: 3, volume: '2054.7545' },
      ],
      tradeOrdersToday: 1,
      signalsToday: 3,
      signalsResolvedToday: 1,
      lowStockAlertsToday: 1,
      planChangesToday: 1,
    });

    const alerts = await harness.query('{ lowStockAlerts(first: 1) { product { id } available lowStockThreshold occurredAt } }', {}, admin);
    expect(alerts.data!.lowStockAlerts).toEqual([{ product: { id: expect.any(String) }, available: 2, lowStockThreshold: 5, occurredAt: minutesAgo(3).toISOString() }]);
    const tooMany = await harness.query('{ lowStockAlerts(first: 1000) { occurredAt } }', {}, admin);
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('skips malformed trading and signal payloads without retrying them', async () => {
    const userId = randomUUID();
    const noPrice = fillExecuted({ userId, quantity: '1', price: '2', executedAt: minutesAgo(1) });
    delete noPrice.data.price;
    const badStatus = tradeOrderUpdated(randomUUID(), userId, 'filled!');
    const noSignal = envelope('SignalResolved', 'signals', { userId, result: 'WIN' }, minutesAgo(1));
    for (const event of [noPrice, badStatus, noSignal]) expect(await harness.deliver(event)).toBe('processed');
    expect((await tradingStats(userId, admin)).data!._entities[0].tradingStats).toEqual([]);
    expect(await harness.queue.getFailedCount()).toBe(0);
    const metrics = await (await fetch(`${harness.baseUrl}/metrics`)).text();
    for (const type of ['FillExecuted', 'TradeOrderUpdated', 'SignalResolved']) expect(metrics).toMatch(new RegExp(`analytics_events_malformed_total\\{type="${type}"[^}]*\\} 1`));
  });
});
