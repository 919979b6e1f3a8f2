import { randomUUID } from 'node:crypto';
import { queueJobsOnMetrics } from '../../kit/src/testing';
import { portfolioIdOf } from '../src/shared/ids';
import { snapshotTimeOf } from '../src/snapshot/snapshot.jobs';
import { CUSTOMER_ID, errorCode, startPortfolio, WAIT_MS, type PortfolioHarness } from './harness';

const T0 = Date.parse('2024-04-01T00:00:00.000Z');
const HOUR = 3_600_000;
const hour = (n: number) => new Date(T0 + n * HOUR);

const SNAPSHOTS = `query($from: DateTimeISO, $to: DateTimeISO, $first: Int) { myPortfolio {
  snapshots(from: $from, to: $to, first: $first) { takenAt totalValue netInvested costBasis realizedPnl unrealizedPnl }
  riskMetrics(from: $from, to: $to) { samples maxDrawdown var95 volatility }
} }`;

/** Reads until `done` holds, bounded. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('value snapshots and risk metrics', () => {
  let h: PortfolioHarness;
  const seller = randomUUID();

  beforeAll(async () => {
    h = await startPortfolio();
    await h.deliver(h.fill({ quantity: '1', price: '100', executedAt: hour(0).toISOString() }));
    // Another user bought and sold out before the first snapshot.
    await h.deliver(h.fill({ userId: seller, quantity: '1', price: '100', executedAt: hour(0).toISOString() }));
    await h.deliver(h.fill({ userId: seller, side: 'SELL', quantity: '1', price: '100', executedAt: new Date(T0 + 1).toISOString() }));
  });

  afterAll(async () => {
    await h?.close();
  });

  const snapshotCount = async (userId: string) =>
    (await h.sql<{ n: number }>('select count(*)::int as n from "portfolio_snapshot" where "portfolio_id" = ?', [portfolioIdOf(userId)]))[0]!.n;

  it('snapshots every portfolio that holds something, once per period, and computes risk from the series', async () => {
    const take = (at: Date) => h.server.snapshots.takeSnapshots(h.server.orm.em.fork(), at);
    // +10 %, −10 %, +10 %: the hand-computed series of the risk metrics unit test.
    for (const [n, price] of [[1, '100'], [2, '110'], [3, '99'], [4, '108.9']] as const) {
      h.server.prices.observe({ symbol: 'BTC/USDT', price, at: hour(n) });
      expect(await take(hour(n))).toBe(1);
    }
    // The same period again writes nothing: the key (portfolio, time) keeps one.
    expect(await take(hour(4))).toBe(0);
    expect(await snapshotCount(seller)).toBe(0);

    const response = await h.request(SNAPSHOTS, {}, h.customer);
    expect(response.errors).toBeUndefined();
    const { snapshots, riskMetrics } = response.data!.myPortfolio;
    expect(snapshots.map((snapshot: { takenAt: string; totalValue: string }) => [snapshot.takenAt, snapshot.totalValue])).toEqual([
      [hour(1).toISOString(), '100'],
      [hour(2).toISOString(), '110'],
      [hour(3).toISOString(), '99'],
      [hour(4).toISOString(), '108.9'],
    ]);
    expect(snapshots[3]).toEqual({ takenAt: hour(4).toISOString(), totalValue: '108.9', netInvested: '100', costBasis: '100', realizedPnl: '0', unrealizedPnl: '8.9' });
    expect(riskMetrics).toEqual({ samples: 3, maxDrawdown: '0.1', var95: '0.1', volatility: '0.11547005' });

    const window = await h.request(SNAPSHOTS, { from: hour(2).toISOString(), to: hour(4).toISOString() }, h.customer);
    expect(window.data!.myPortfolio.snapshots.map((snapshot: { totalValue: string }) => snapshot.totalValue)).toEqual(['110', '99']);
    expect(window.data!.myPortfolio.riskMetrics).toEqual({ samples: 1, maxDrawdown: '0.1', var95: '0.1', volatility: null });
    const lastTwo = await h.request(SNAPSHOTS, { first: 2 }, h.customer);
    expect(lastTwo.data!.myPortfolio.snapshots.map((snapshot: { totalValue: string }) => snapshot.totalValue)).toEqual(['99', '108.9']);
  });

  it('refuses a bad range or page size', async () => {
    expect(errorCode(await h.request(SNAPSHOTS, { from: hour(2).toISOString(), to: hour(2).toISOString() }, h.customer))).toBe('BAD_USER_INPUT');
    expect(errorCode(await h.request(SNAPSHOTS, { first: 0 }, h.customer))).toBe('BAD_USER_INPUT');
    expect(errorCode(await h.request(SNAPSHOTS, { first: 1001 }, h.customer))).toBe('BAD_USER_INPUT');
  });

  it('takes snapshots on schedule and starts again valued at the last prices after a restart', async () => {
    await h.restart({ SNAPSHOT_INTERVAL_SECONDS: '3600' });
    // The price written before the restart values the portfolio before any tick.
    const after = await h.request('{ myPortfolio { totalValue holdings { marketPrice } } }', {}, h.customer);
    expect(after.data!.myPortfolio).toEqual({ totalValue: '108.9', holdings: [{ marketPrice: '108.9' }] });
    // A job scheduler runs its first job at once; its period is the snapshot time.
    const rows = await eventually(
      () => h.sql<{ taken_at: Date }>('select "taken_at" from "portfolio_snapshot" where "portfolio_id" = ? and "taken_at" > ?', [portfolioIdOf(CUSTOMER_ID), hour(4)]),
      (found) => found.length > 0,
      'a scheduled snapshot',
    );
    expect(rows).toHaveLength(1);
    // The scheduler's next run waits as a delayed job, on /metrics.
    expect(await queueJobsOnMetrics(h.server.metrics.registry, 'portfolio-snapshots')).toMatchObject({ delayed: 1, failed: 0 });
    expect(new Date(rows[0]!.taken_at).getTime() % HOUR).toBe(0);
    expect(new Date(rows[0]!.taken_at).getTime()).toBeLessThanOrEqual(snapshotTimeOf(Date.now(), 3600).getTime());
  });
});
