import { Writable } from 'node:stream';
import pino from 'pino';
import { createTokenVerifier, openOrm, type Role } from '../../../kit/src';
import { cleanupRedis, testPrefix } from '../../../kit/src/events/testing';
import { graphqlRequest, TestIssuer, type GraphQLResponse } from '../../../kit/src/testing';
import { readTradingConfig } from '../../src/config';
import type { AdapterFactory } from '../../src/exchange/adapter-pool';
import { InstrumentEntity } from '../../src/market/instrument.entity';
import { tradingEntities, tradingMigrations } from '../../src/mikro-orm.config';
import { createTradingServer, type TradingServer } from '../../src/server';
import { ScriptedFeed } from './scripted-feed';
import { testDatabase, uniquePrefix } from './harness';

/** Instruments with round prices, so fees and slippage are easy to check by hand. */
export const TEST_INSTRUMENTS = [
  { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', lastPrice: '100', priceDecimals: 2, amountDecimals: 5 },
  { symbol: 'ETH/USDT', base: 'ETH', quote: 'USDT', lastPrice: '50', priceDecimals: 2, amountDecimals: 4 },
];

export const ACCOUNT_FIELDS = 'id kind exchangeId label apiKeyHint feeRate slippageBps createdAt';
export const ORDER_FIELDS = `id clientOrderId accountId symbol side type status quantity filledQuantity remainingQuantity price stopPrice
  trailingPercent trailingAmount activationPrice currentStopPrice visibleQuantity twapDurationMs twapSlices takeProfitPrice stopLossPrice averagePrice feeTotal
  reason execution parentOrderId ocoRole triggeredAt createdAt updatedAt fills { id price quantity fee feeCurrency liquidity executedAt }`;

export const LINK = `mutation($input: LinkExchangeAccountInput!) { linkExchangeAccount(input: $input) { ${ACCOUNT_FIELDS} } }`;
export const BALANCES = `query($accountId: ID!) { balances(accountId: $accountId) { asset free locked total } }`;
export const PLACE = `mutation($input: PlaceTradeOrderInput!) { placeTradeOrder(input: $input) { ${ORDER_FIELDS} } }`;
export const CANCEL = `mutation($id: ID!) { cancelTradeOrder(id: $id) { ${ORDER_FIELDS} } }`;
export const ORDER = `query($id: ID!) { tradeOrder(id: $id) { ${ORDER_FIELDS} exitOrders { ${ORDER_FIELDS} } history { status filledQuantity reason at } } }`;

export type Order = Record<string, any>;

export interface OrdersHarness {
  server: TradingServer;
  url: string;
  feed: ScriptedFeed;
  issuer: TestIssuer;
  /** Every log line the server wrote (level debug and up), for checks that secrets never appear. */
  logs: string[];
  token(userId: string, role?: Role): Promise<string>;
  request<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
  /** Links a paper account; returns its id. */
  linkPaper(token: string, input?: Record<string, unknown>): Promise<string>;
  /** Places an order and returns it; fails the test on errors. */
  place(token: string, input: Record<string, unknown>): Promise<Order>;
  order(token: string, id: string): Promise<Order>;
  /** Balances by asset as { free, locked }. */
  balances(token: string, accountId: string): Promise<Record<string, { free: string; locked: string }>>;
  /** Emits ticks of a symbol, each once the engine has acted on the previous one. */
  prices(symbol: string, ...prices: string[]): Promise<void>;
  /** BullMQ key prefix of this server's queues (TWAP slices, events). */
  eventsPrefix: string;
  /** Waits until no engine work is running. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** Creates and migrates the database and stores TEST_INSTRUMENTS (paper), before any server starts. */
export async function seedTestInstruments(databaseUrl: string): Promise<void> {
  const seeding = await openOrm({ databaseUrl, entities: tradingEntities, migrations: tradingMigrations, poolSize: 2 });
  try {
    const em = seeding.em.fork();
    for (const instrument of TEST_INSTRUMENTS) em.persist(em.create(InstrumentEntity, { ...instrument, exchange: 'paper', volatility: '0.5' }));
    await em.flush();
  } finally {
    await seeding.close();
  }
}

let counter = 0;
/** A client order id unique in the test run. */
export const cid = (label = 'o'): string => `${label}-${Date.now().toString(36)}-${(counter += 1)}`;

/**
 * A trading server on a fresh database with TEST_INSTRUMENTS, workers on (the order engine watches
 * prices) and a ScriptedFeed for prices; events off unless `env` turns them on.
 */
export async function startOrdersHarness(name: string, options: { env?: Record<string, string>; adapterFactory?: AdapterFactory } = {}): Promise<OrdersHarness> {
  const database = testDatabase(name);
  const issuer = await TestIssuer.create();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const eventsPrefix = testPrefix(name);
  const config = readTradingConfig({
    DATABASE_URL: database.url,
    NODE_ENV: 'test',
    EVENTS_ENABLED: 'false',
    PUBSUB_PREFIX: uniquePrefix(name),
    EVENTS_PREFIX: eventsPrefix,
    TWAP_MIN_INTERVAL_MS: '10',
    ...options.env,
  });
  // The instruments exist before the server starts, so its engine follows their prices.
  await seedTestInstruments(database.url);
  const feed = new ScriptedFeed();
  const server = await createTradingServer({
    config,
    log,
    verifyToken: createTokenVerifier(issuer.keys),
    feed,
    adapterFactory: options.adapterFactory,
  });
  const url = await server.listen(0);
  await server.pubsub.ready();

  const request = <T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string) => graphqlRequest<T>(url, query, { variables, token });
  const must = async (query: string, variables: Record<string, unknown>, token: string): Promise<Record<string, any>> => {
    const result = await request(query, variables, token);
    if (result.errors) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
    return result.data!;
  };
  return {
    server,
    url,
    feed,
    issuer,
    logs,
    token: (userId, role = 'CUSTOMER') => issuer.sign(userId, role),
    request,
    async linkPaper(token, input = {}) {
      return (await must(LINK, { input }, token)).linkExchangeAccount.id;
    },
    async place(token, input) {
      return (await must(PLACE, { input }, token)).placeTradeOrder;
    },
    async order(token, id) {
      return (await must(ORDER, { id }, token)).tradeOrder;
    },
    async balances(token, accountId) {
      const rows = (await must(BALANCES, { accountId }, token)).balances as { asset: string; free: string; locked: string }[];
      return Object.fromEntries(rows.map((row) => [row.asset, { free: row.free, locked: row.locked }]));
    },
    async prices(symbol, ...prices) {
      // One tick at a time: what a tick fires is done before the next arrives, so a path is exact.
      for (const price of prices) {
        feed.price(symbol, price);
        await server.engine.idle();
      }
    },
    settle: () => server.engine.idle(),
    eventsPrefix,
    async close() {
      await server.close();
      await database.drop();
      await cleanupRedis(eventsPrefix, ['portfolio', 'analytics']);
    },
  };
}

/** Reads again until `done` holds (bounded), for what runs on a queue (TWAP slices); never a fixed sleep. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    last = await read();
  }
  return last;
}
