import { EventEmitter } from 'node:events';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { CUSTOMER_ID, OTHER_ID, startPortfolio, WAIT_MS, type PortfolioHarness } from './harness';

const PORTFOLIO_UPDATED = `subscription { portfolioUpdated { userId totalValue unrealizedPnl holdings { asset quantity marketPrice unrealizedPnl } } }`;
// Each update may wait a throttle interval.
jest.setTimeout(30_000);

/** Long enough that a burst of ticks published in one loop falls within one interval. */
const THROTTLE_MS = 1_500;

type Result = FormattedExecutionResult<Record<string, any>, unknown>;

interface Recorded {
  results: Result[];
  outcome: { completed: true } | { error: unknown } | undefined;
  /** Resolves once `check` holds for what arrived; rejects if the subscription ends first or nothing comes in time. */
  until(check: (results: Result[]) => boolean, what: string): Promise<void>;
  unsubscribe(): void;
}

function record(client: Client): Recorded {
  const changes = new EventEmitter();
  const recorded: Recorded = {
    results: [],
    outcome: undefined,
    until(check, what) {
      return new Promise((resolve, reject) => {
        const test = () => {
          if (check(recorded.results)) {
            done();
            resolve();
          } else if (recorded.outcome !== undefined) {
            done();
            reject(new Error(`${what}: the subscription ended (${JSON.stringify(recorded.outcome)}) after ${JSON.stringify(recorded.results)}`));
          }
        };
        const timer = setTimeout(() => {
          changes.off('change', test);
          reject(new Error(`${what} within ${WAIT_MS} ms: got ${JSON.stringify(recorded.results)}`));
        }, WAIT_MS);
        const done = () => {
          clearTimeout(timer);
          changes.off('change', test);
        };
        changes.on('change', test);
        test();
      });
    },
    unsubscribe: () => undefined,
  };
  recorded.unsubscribe = client.subscribe<Record<string, any>>(
    { query: PORTFOLIO_UPDATED },
    {
      next(result) {
        recorded.results.push(result);
        changes.emit('change');
      },
      error(error) {
        recorded.outcome = { error };
        changes.emit('change');
      },
      complete() {
        recorded.outcome ??= { completed: true };
        changes.emit('change');
      },
    },
  );
  return recorded;
}

const latest = (recorded: Recorded) => recorded.results[recorded.results.length - 1]!.data!.portfolioUpdated;
const btcPrice = (result: Result): string | undefined => result.data?.portfolioUpdated.holdings.find((holding: { asset: string }) => holding.asset === 'BTC')?.marketPrice;

describe('Subscription.portfolioUpdated', () => {
  let h: PortfolioHarness;
  const clients: Client[] = [];
  const client = (token?: string): Client => {
    const created = createClient({ url: h.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: token ? { authorization: `Bearer ${token}` } : undefined });
    clients.push(created);
    return created;
  };
  let time = Date.parse('2024-05-01T00:00:00.000Z');
  const next = () => new Date((time += 1_000));

  beforeAll(async () => {
    h = await startPortfolio({ UPDATE_THROTTLE_MS: String(THROTTLE_MS) });
    // 0.5 BTC at 100 plus a 0.1 fee: cost 50.1.
    await h.deliver(h.fill({ quantity: '0.5', price: '100', fee: '0.1', executedAt: next().toISOString() }));
  });

  afterAll(async () => {
    await Promise.all(clients.map((created) => created.dispose()));
    await h?.close();
  });

  it('sends the portfolio, then unrealized PnL as prices tick, throttled to the latest', async () => {
    const updates = record(client(h.customer));
    await updates.until((results) => results.length >= 1, 'snapshot');
    expect(updates.results[0]).toEqual({
      data: { portfolioUpdated: { userId: CUSTOMER_ID, totalValue: '50', unrealizedPnl: '-0.1', holdings: [{ asset: 'BTC', quantity: '0.5', marketPrice: '100', unrealizedPnl: '-0.1' }] } },
    });

    await h.tick('BTC/USDT', '110', next());
    await updates.until((results) => results.some((result) => btcPrice(result) === '110'), 'the tick to 110');
    // 0.5 × 110 − 50.1.
    expect(latest(updates)).toMatchObject({ totalValue: '55', unrealizedPnl: '4.9' });

    // A burst within one interval: one update at most at its start, one at its end, the last price.
    const before = updates.results.length;
    // Published back to back (each call publishes before it waits), then awaited together.
    await Promise.all(Array.from({ length: 20 }, (_, step) => h.tick('BTC/USDT', String(111 + step), next())));
    await updates.until((results) => results.some((result) => btcPrice(result) === '130'), 'the last tick of the burst');
    const burst = updates.results.slice(before);
    expect(burst.length).toBeLessThanOrEqual(2);
    expect(latest(updates)).toMatchObject({ totalValue: '65', unrealizedPnl: '14.9', holdings: [{ asset: 'BTC', quantity: '0.5', marketPrice: '130', unrealizedPnl: '14.9' }] });

    // A fill is an update too: it adds ETH, whose ticks now count as well.
    await h.deliver(h.fill({ symbol: 'ETH/USDT', quantity: '2', price: '10', executedAt: next().toISOString() }));
    await updates.until((results) => results.some((result) => result.data?.portfolioUpdated.holdings.some((holding: { asset: string }) => holding.asset === 'ETH')), 'the ETH fill');
    await h.tick('ETH/USDT', '12', next());
    await updates.until((results) => latest({ results } as Recorded).holdings.some((holding: { asset: string; marketPrice: string }) => holding.asset === 'ETH' && holding.marketPrice === '12'), 'the ETH tick');
    expect(latest(updates)).toMatchObject({ totalValue: '89', unrealizedPnl: '18.9' });
    expect(updates.results.every((result) => result.errors === undefined && result.data!.portfolioUpdated.userId === CUSTOMER_ID)).toBe(true);
    updates.unsubscribe();
  });

  it("follows the subscriber's own portfolio only, and refuses anonymous clients", async () => {
    const theirs = record(client(h.other));
    await theirs.until((results) => results.length >= 1, 'snapshot');
    expect(theirs.results[0]).toEqual({ data: { portfolioUpdated: { userId: OTHER_ID, totalValue: '0', unrealizedPnl: '0', holdings: [] } } });
    theirs.unsubscribe();

    const anonymous = record(client());
    await anonymous.until(() => anonymous.outcome !== undefined, 'the refusal');
    expect(anonymous.results).toHaveLength(1);
    expect(anonymous.results[0]!.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
