import { createLogger, createTokenVerifier } from '../../kit/src';
import { graphqlRequest, TestIssuer } from '../../kit/src/testing';
import { readTradingConfig } from '../src/config';
import { createTradingServer, type TradingServer } from '../src/server';
import { testDatabase, uniquePrefix } from './support/harness';
import { cid, eventually, LINK, ORDER, PLACE, seedTestInstruments } from './support/orders-harness';
import { ScriptedFeed } from './support/scripted-feed';

jest.setTimeout(30_000);

/**
 * Trading deployed as an `--api-only` process and a `--workers-only` one on one database and one
 * Redis: orders placed through the API are watched and fired by the workers, and market orders
 * fill at the price the workers' feed publishes.
 */
describe('trading split into API and workers processes', () => {
  const database = testDatabase('roles');
  const prefix = uniquePrefix('roles');
  const feed = new ScriptedFeed();
  let issuer: TestIssuer;
  let api: TradingServer;
  let workers: TradingServer;
  let apiUrl: string;
  let workersBase: string;
  let token: string;
  let accountId: string;

  const must = async (query: string, variables: Record<string, unknown>): Promise<Record<string, any>> => {
    const result = await graphqlRequest(apiUrl, query, { variables, token });
    if (result.errors) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
    return result.data!;
  };

  beforeAll(async () => {
    issuer = await TestIssuer.create();
    await seedTestInstruments(database.url);
    // Prices reach the database only after a minute: what the API process fills at comes through Redis.
    const config = readTradingConfig({ DATABASE_URL: database.url, NODE_ENV: 'test', LOG_LEVEL: 'silent', EVENTS_ENABLED: 'false', PUBSUB_PREFIX: prefix, PRICE_FLUSH_MS: '60000' });
    const log = createLogger('trading-roles-test', 'silent');
    const verifyToken = createTokenVerifier(issuer.keys);
    workers = await createTradingServer({ config, log, verifyToken, api: false, feed });
    workersBase = (await workers.listen(0)).replace('/graphql', '');
    api = await createTradingServer({ config, log, verifyToken, api: true, workers: false });
    apiUrl = await api.listen(0);
    await Promise.all([api.pubsub.ready(), workers.pubsub.ready()]);
    token = await issuer.sign('trader-roles');
    accountId = (await must(LINK, { input: {} })).linkExchangeAccount.id;
  });

  afterAll(async () => {
    await api?.close();
    await workers?.close();
    await database.drop();
  });

  it('serves no GraphQL from the workers process, and runs no feed or watch in the API process', async () => {
    const response = await fetch(`${workersBase}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    expect(response.status).toBe(404);
    expect((await fetch(`${workersBase}/ready`)).status).toBe(200);
    expect(workers.feed).not.toBeNull();
    expect(api.feed).toBeNull();
    expect(api.twapWorker).toBeNull();
  });

  it('fills a market order placed through the API at the price the workers feed published', async () => {
    feed.price('BTC/USDT', '123');
    await eventually(
      () => api.engine.lastPrice(api.orm.em.fork(), 'BTC/USDT'),
      (price) => price === '123',
      'the API process hearing the tick',
    );
    const order = (await must(PLACE, { input: { accountId, clientOrderId: cid('market'), symbol: 'BTC/USDT', side: 'BUY', type: 'MARKET', quantity: '0.01' } })).placeTradeOrder;
    expect(order.status).toBe('FILLED');
    // The paper account's default slippage moves a buy up from the last price, never back to the stored 100.
    expect(Number(order.averagePrice)).toBeGreaterThanOrEqual(123);
  });

  it('fires a stop placed through the API in the workers process', async () => {
    const stop = (await must(PLACE, { input: { accountId, clientOrderId: cid('stop'), symbol: 'BTC/USDT', side: 'SELL', type: 'STOP_MARKET', quantity: '0.01', stopPrice: '110' } }))
      .placeTradeOrder;
    expect(stop.status).toBe('OPEN');
    expect(api.engine.watched).toBe(0);
    await eventually(
      async () => workers.engine.watched,
      (watched) => watched === 1,
      'the workers engine watching the stop',
    );
    feed.price('BTC/USDT', '109');
    const fired = await eventually(
      async () => (await must(ORDER, { id: stop.id })).tradeOrder,
      (order) => order.status === 'FILLED',
      'the stop filled',
    );
    expect(Number(fired.averagePrice)).toBeLessThanOrEqual(109);
  });
});
