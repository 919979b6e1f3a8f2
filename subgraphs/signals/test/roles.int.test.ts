import { createLogger } from '../../kit/src';
import { REDIS_URL } from '../../kit/src/events/testing';
import { createRedisPubSub, type RedisPubSub } from '../../kit/src/pubsub';
import { priceTopic } from '../src/outcome/outcome.watcher';
import { buyAlert, SIGNAL, startSignals, type SignalsHarness } from './support/harness';
import { colorCounts, decodePng, eventually, startFakeTrading } from './support/screenshots';

jest.setTimeout(90_000);

const ALICE = '0a11ce00-0000-4000-8000-0000000000d1';

/**
 * Signals deployed as an `--api-only` process (webhook and GraphQL) and a `--workers-only` one
 * (outcome watcher, screenshots with Chromium, event consumer) on one database and one Redis.
 */
describe('signals split into API and workers processes', () => {
  let trading: Awaited<ReturnType<typeof startFakeTrading>>;
  let api: SignalsHarness;
  let workers: SignalsHarness;
  let market: RedisPubSub;
  let alice: string;
  let webhook: string;

  beforeAll(async () => {
    trading = await startFakeTrading();
    api = await startSignals({ workers: false, env: { EVENTS_ENABLED: 'true' } });
    const [{ current_database: name }] = await api.sql<{ current_database: string }>('select current_database()');
    workers = await startSignals({
      api: false,
      workers: true,
      issuer: api.issuer,
      prefix: api.prefix,
      databaseUrl: `${process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432'}/${name}`,
      env: { TRADING_URL: trading.url, SCREENSHOT_DIR: api.screenshotDir, SCREENSHOT_WIDTH: '800', SCREENSHOT_HEIGHT: '450' },
    });
    market = createRedisPubSub({ redisUrl: REDIS_URL, prefix: `${api.prefix}:pubsub:`, log: createLogger('market', 'silent') });
    await market.ready();
    alice = await api.token(ALICE);
    webhook = (await api.endpoint(alice, { defaults: { takeProfit: '2%', stopLoss: '1%' } })).token;
  });

  afterAll(async () => {
    await market?.close();
    await workers?.close();
    await api?.close();
    await trading?.close();
  });

  const signal = async (id: string) => (await api.request(SIGNAL, { id }, alice)).data!.signal;

  it('serves neither GraphQL nor the webhook from the workers process', async () => {
    const graphql = await fetch(`${workers.baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    expect(graphql.status).toBe(404);
    const alert = await fetch(`${workers.baseUrl}/webhook/u/${webhook}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: buyAlert() });
    expect(alert.status).toBe(404);
    expect(await (await fetch(`${workers.baseUrl}/ready`)).json()).toMatchObject({ status: 'ready' });
    expect(api.server.watcher).toBeNull();
  });

  it('judges a signal that arrived at the API process in the workers process', async () => {
    const answer = await api.deliver(webhook, buyAlert({ ticker: 'BINANCE:SOLUSDT', price: '100' }));
    expect(answer.status).toBe(200);
    const id: string = answer.body.signals[0];
    await eventually(async () => (workers.server.watcher!.watching('SOL/USDT') === 1 ? true : undefined), 'the workers watching the new signal');
    await workers.server.watcher!.whenListening('SOL/USDT');
    market.publish(priceTopic('SOL/USDT'), { symbol: 'SOL/USDT', lastPrice: '102.5', updatedAt: new Date().toISOString() });
    const resolved = await eventually(async () => {
      const shown = await signal(id);
      return shown.result === 'PENDING' ? undefined : shown;
    }, 'the signal resolved');
    expect(resolved).toMatchObject({ result: 'WIN', exitPrice: '102.5', takeProfit: '102', stopLoss: '99' });
  });

  it('takes the screenshot in the workers process and serves it from the API process', async () => {
    const answer = await api.deliver(webhook, buyAlert());
    const id: string = answer.body.signals[0];
    const shown = await eventually(async () => {
      const current = await signal(id);
      return current.screenshot.status === 'READY' ? current : undefined;
    }, `the screenshot of ${id}`, 60_000);
    expect(api.server.screenshots.browserPids()).toEqual([]);
    expect(workers.server.screenshots.browserPids().length).toBeGreaterThan(0);
    const url = new URL(shown.screenshot.url);
    const png = await fetch(`${api.baseUrl}${url.pathname}${url.search}`);
    expect(png.status).toBe(200);
    const image = decodePng(Buffer.from(await png.arrayBuffer()));
    expect({ width: image.width, height: image.height }).toEqual({ width: 800, height: 450 });
    // The chart the workers process served to its Chromium, not a blank page: it has many colours.
    expect(colorCounts(image).size).toBeGreaterThan(10);
  });
});
