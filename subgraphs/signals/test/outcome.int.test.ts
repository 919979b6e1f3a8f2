import type { Client } from 'graphql-ws';
import { createLogger } from '../../kit/src';
import { createRedisPubSub, type RedisPubSub } from '../../kit/src/pubsub';
import { REDIS_URL } from '../../kit/src/events/testing';
import { priceTopic } from '../src/outcome/outcome.watcher';
import { updatedTopic } from '../src/signal/signal.updates';
import { SIGNAL, startSignals, type CreatedEndpoint, type SignalsHarness } from './support/harness';
import { record, wsClient } from './support/ws';

const ALICE = '0a11ce00-0000-4000-8000-000000000051';
const UPDATED = 'subscription { signalUpdated { id result exitPrice profitLoss } }';
const MARK = `mutation($id: ID!, $result: SignalResult!) { markSignalResult(id: $id, result: $result) { id result } }`;

async function eventually<T>(read: () => Promise<T> | T, done: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
    last = await read();
  }
  return last;
}

/** Outcomes judged against trading's price ticks (published here as trading does, on `price:<symbol>`). */
describe('signal outcomes from the price feed', () => {
  let h: SignalsHarness;
  let replica: SignalsHarness | undefined;
  let market: RedisPubSub;
  let alice: string;
  let endpoint: CreatedEndpoint;
  const clients: Client[] = [];

  beforeAll(async () => {
    h = await startSignals({ workers: true, env: { SCREENSHOT_WORKERS: 'false' } });
    market = createRedisPubSub({ redisUrl: REDIS_URL, prefix: `${h.prefix}:pubsub:`, log: createLogger('market', 'silent') });
    await market.ready();
    alice = await h.token(ALICE);
    endpoint = await h.endpoint(alice, { defaults: { takeProfit: '2%', stopLoss: '1%' } });
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await replica?.close();
    await market?.close();
    await h?.close();
  });

  const tick = (symbol: string, lastPrice: string) => market.publish(priceTopic(symbol), { symbol, lastPrice, updatedAt: new Date().toISOString() });
  const post = async (fields: Record<string, unknown>): Promise<string> => {
    const answer = await h.deliver(endpoint.token, JSON.stringify({ alert: Math.random(), ...fields }));
    if (answer.status !== 200) throw new Error(JSON.stringify(answer.body));
    return answer.body.signals[0] as string;
  };
  const signal = async (id: string) => (await h.request(SIGNAL, { id }, alice)).data!.signal;
  const resolvedEvents = (id: string) => h.sql<{ data: Record<string, unknown> }>(`select "data" from "outbox" where "type" = 'SignalResolved' and "subject" = ?`, [id]);
  const watching = async (harness: SignalsHarness, symbol: string, count: number) => {
    await eventually(() => harness.server.watcher!.watching(symbol), (n) => n === count, `${count} signals watched on ${symbol}`);
    await harness.server.watcher!.whenListening(symbol);
  };

  it('resolves at the first price at or beyond a level: WIN at the take-profit, LOSS at the stop-loss', async () => {
    const client = wsClient(h.url, alice);
    clients.push(client);
    const feed = record(client, UPDATED);
    await h.server.pubsub.whenSubscribed(updatedTopic(ALICE));
    const buy = await post({ ticker: 'BTCUSDT', action: 'buy', price: '100' });
    const sell = await post({ ticker: 'ETHUSDT', action: 'sell', price: '50', tp: '45', sl: '52' });
    // Not judged: no price to measure from, or no direction.
    await post({ ticker: 'BTCUSDT', action: 'buy' });
    await post({ ticker: 'BTCUSDT', action: 'close', price: '100' });
    await watching(h, 'BTC/USDT', 1);
    await watching(h, 'ETH/USDT', 1);

    tick('BTC/USDT', '101.9');
    tick('BTC/USDT', '98.5');
    tick('ETH/USDT', '48');
    tick('ETH/USDT', '52.5');
    await feed.until((results) => results.length >= 2, 'both resolutions');
    const byId = Object.fromEntries(feed.results.map((result) => [result.data!.signalUpdated.id, result.data!.signalUpdated]));
    // 101.9 is below the take-profit (102): the BUY lost at 98.5, under its stop-loss (99).
    expect(byId[buy]).toEqual({ id: buy, result: 'LOSS', exitPrice: '98.5', profitLoss: '-1.5' });
    expect(byId[sell]).toEqual({ id: sell, result: 'LOSS', exitPrice: '52.5', profitLoss: '-5' });
    expect(await signal(buy)).toMatchObject({ result: 'LOSS', takeProfit: '102', stopLoss: '99', exitPrice: '98.5', profitLoss: '-1.5' });
    expect(await resolvedEvents(buy)).toEqual([
      { data: expect.objectContaining({ signalId: buy, userId: ALICE, result: 'LOSS', exitPrice: '98.5', profitLoss: '-1.5', manual: false }) },
    ]);
    expect(h.server.watcher!.watching('BTC/USDT')).toBe(0);

    const win = await post({ ticker: 'BTCUSDT', action: 'buy', price: '200' });
    await watching(h, 'BTC/USDT', 1);
    tick('BTC/USDT', '204.5');
    await feed.until((results) => results.some((result) => result.data!.signalUpdated.id === win), 'the win');
    expect(await signal(win)).toMatchObject({ result: 'WIN', exitPrice: '204.5', profitLoss: '2.25' });
    feed.unsubscribe();
  });

  it('stops judging a signal its owner marked by hand', async () => {
    const id = await post({ ticker: 'SOLUSDT', action: 'buy', price: '10' });
    await watching(h, 'SOL/USDT', 1);
    await h.request(MARK, { id, result: 'SKIP' }, alice);
    expect(h.server.watcher!.watching('SOL/USDT')).toBe(0);
    // A later signal on the same symbol is judged; the skipped one is not.
    const next = await post({ ticker: 'SOLUSDT', action: 'buy', price: '10' });
    await watching(h, 'SOL/USDT', 1);
    tick('SOL/USDT', '11');
    await eventually(() => signal(next), (shown) => shown.result === 'WIN', 'the later signal won');
    expect(await signal(id)).toMatchObject({ result: 'SKIP', exitPrice: null });
  });

  it('picks up open signals at start, and two replicas resolve a signal once', async () => {
    const id = await post({ ticker: 'ADAUSDT', action: 'buy', price: '0.5' });
    await watching(h, 'ADA/USDT', 1);
    const [{ current_database: name }] = await h.sql<{ current_database: string }>('select current_database()');
    replica = await startSignals({
      workers: true,
      env: { SCREENSHOT_WORKERS: 'false' },
      issuer: h.issuer,
      prefix: h.prefix,
      databaseUrl: `${process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432'}/${name}`,
    });
    // Loaded from the database, not told by the first replica.
    await watching(replica, 'ADA/USDT', 1);
    tick('ADA/USDT', '0.51');
    await eventually(() => signal(id), (shown) => shown.result === 'WIN', 'the ADA signal won');
    await eventually(() => replica!.server.watcher!.watching('ADA/USDT') + h.server.watcher!.watching('ADA/USDT'), (n) => n === 0, 'both replicas let go');
    expect(await resolvedEvents(id)).toHaveLength(1);
    expect(await signal(id)).toMatchObject({ exitPrice: '0.51', profitLoss: '2' });
  });
});
