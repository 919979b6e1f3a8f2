import { randomUUID } from 'node:crypto';
import { createLogger, createTokenVerifier } from '../../kit/src';
import { cleanupRedis, eventQueue, jobSettled, REDIS_URL, testPrefix } from '../../kit/src/events/testing';
import type { EventEnvelope } from '../../kit/src/events';
import { createRedisPubSub, type RedisPubSub } from '../../kit/src/pubsub';
import { graphqlRequest, testDatabaseUrl, TestIssuer, type GraphQLResponse } from '../../kit/src/testing';
import { readPortfolioConfig } from '../src/config';
import { priceTopic, type PriceQuote } from '../src/price/price-book';
import { createPortfolioServer, type PortfolioServer } from '../src/server';

export const CUSTOMER_ID = '22222222-2222-4222-8222-222222222222';
export const OTHER_ID = '33333333-3333-4333-8333-333333333333';
export const ADMIN_ID = '11111111-1111-4111-8111-111111111111';

/** Bound on every wait: a missing event fails the test instead of hanging it. */
export const WAIT_MS = 15_000;

export const HOLDING_FIELDS = 'asset symbol quantity averageCost costBasis marketPrice marketValue unrealizedPnl realizedPnl fees weight';
export const PORTFOLIO_FIELDS = `id userId currency totalValue costBasis netInvested realizedPnl unrealizedPnl totalPnl fees unpricedAssets holdings { ${HOLDING_FIELDS} }`;
export const MY_PORTFOLIO = `{ myPortfolio { ${PORTFOLIO_FIELDS} } }`;

export interface FillData {
  fillId: string;
  orderId: string;
  accountId: string;
  userId: string;
  symbol: string;
  base: string;
  quote: string;
  side: 'BUY' | 'SELL';
  quantity: string;
  price: string;
  fee: string;
  feeCurrency: string;
  executedAt: string;
}

/** One portfolio server on port 0 over a fresh database, with tokens, its event queue and a price publisher. */
export interface PortfolioHarness {
  server: PortfolioServer;
  url: string;
  wsUrl: string;
  issuer: TestIssuer;
  customer: string;
  other: string;
  admin: string;
  /** BullMQ prefix of this file's queues. */
  prefix: string;
  request<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
  /** A FillExecuted envelope for the customer (BTC/USDT BUY 1 @ 100, quote fee 0, executed now, unless overridden). */
  fill(overrides?: Partial<FillData>): EventEnvelope;
  /** Puts envelopes on `events-portfolio` together (job id = event id unless given) and resolves with each job's outcome. */
  enqueue(envelopes: EventEnvelope[], options?: { jobId?: string; attempts?: number }): Promise<{ outcome: 'completed' | 'failed'; result: unknown }[]>;
  /** Applies an event through the server's handler, inside a transaction as the consumer does (after-commit work included). */
  deliver(envelope: EventEnvelope): Promise<void>;
  /** Publishes a price as trading does and resolves once this server's price book took it. */
  tick(symbol: string, price: string, at?: Date): Promise<PriceQuote>;
  sql<T = Record<string, any>>(query: string, params?: unknown[]): Promise<T[]>;
  /** Closes the server and starts a new one on the same database, Redis and prefixes. */
  restart(env?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export async function startPortfolio(env: Record<string, string> = {}): Promise<PortfolioHarness> {
  const database = testDatabaseUrl('portfolio');
  const issuer = await TestIssuer.create();
  const prefix = testPrefix('portfolio');
  const pubsubPrefix = `test:portfolio:${randomUUID()}:`;
  const baseEnv = {
    DATABASE_URL: database.url,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    REDIS_URL,
    EVENTS_PREFIX: prefix,
    PUBSUB_PREFIX: pubsubPrefix,
    SNAPSHOT_INTERVAL_SECONDS: '0',
  };
  const start = async (extra: Record<string, string>) => {
    const server = await createPortfolioServer({
      config: readPortfolioConfig({ ...baseEnv, ...env, ...extra }),
      log: createLogger('portfolio-test', 'silent'),
      verifyToken: createTokenVerifier(issuer.keys),
    });
    const url = await server.listen(0);
    await server.pubsub.ready();
    await server.consumer?.ready();
    return { server, url };
  };
  let running: { server: PortfolioServer; url: string };
  try {
    running = await start({});
  } catch (error) {
    await database.drop();
    throw error;
  }
  const queue = eventQueue('portfolio', prefix);
  const publisher: RedisPubSub = createRedisPubSub({ redisUrl: REDIS_URL, prefix: pubsubPrefix });
  await publisher.ready();
  const sql = <T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> => running.server.orm.em.fork().getConnection().execute(query, params);

  const harness: PortfolioHarness = {
    get server() {
      return running.server;
    },
    get url() {
      return running.url;
    },
    get wsUrl() {
      return running.url.replace(/^http/, 'ws');
    },
    issuer,
    customer: await issuer.sign(CUSTOMER_ID, 'CUSTOMER'),
    other: await issuer.sign(OTHER_ID, 'CUSTOMER'),
    admin: await issuer.sign(ADMIN_ID, 'ADMIN'),
    prefix,
    request: (query, variables, token) => graphqlRequest(running.url, query, { variables, token }),
    fill(overrides = {}) {
      const symbol = overrides.symbol ?? 'BTC/USDT';
      const [base, quote] = symbol.split('/') as [string, string];
      const data: FillData = {
        fillId: randomUUID(),
        orderId: randomUUID(),
        accountId: randomUUID(),
        userId: CUSTOMER_ID,
        symbol,
        base,
        quote,
        side: 'BUY',
        quantity: '1',
        price: '100',
        fee: '0',
        feeCurrency: quote,
        executedAt: new Date().toISOString(),
        ...overrides,
      };
      return { id: randomUUID(), type: 'FillExecuted', version: 1, occurredAt: data.executedAt, source: 'trading', subject: data.orderId, data: { ...data } };
    },
    async enqueue(envelopes, options = {}) {
      const worker = running.server.consumer!.worker;
      const settled = envelopes.map((envelope) => {
        const jobId = options.jobId ?? envelope.id;
        return Promise.race([
          jobSettled(worker, 'completed', jobId).then(({ result }) => ({ outcome: 'completed' as const, result })),
          jobSettled(worker, 'failed', jobId).then(({ job }) => ({ outcome: 'failed' as const, result: job.failedReason })),
        ]);
      });
      // Added while the worker is paused, so it finds them waiting together and takes them in batches.
      await worker.pause(true);
      await queue.addBulk(envelopes.map((envelope) => ({ name: envelope.type, data: envelope, opts: { jobId: options.jobId ?? envelope.id, attempts: options.attempts ?? 1 } })));
      worker.resume();
      return Promise.all(settled);
    },
    async deliver(envelope) {
      const handler = running.server.handlers[envelope.type];
      if (!handler) throw new Error(`no handler for ${envelope.type}`);
      const afterCommit: (() => Promise<void>)[] = [];
      await running.server.orm.em.fork().transactional((em) => {
        afterCommit.length = 0;
        return handler(em, envelope, { afterCommit: (work) => afterCommit.push(work) });
      });
      for (const work of afterCommit) await work();
    },
    async tick(symbol, price, at = new Date()) {
      const book = running.server.prices;
      await book.follow([symbol]);
      const seen = new Promise<PriceQuote>((resolve) => {
        const listener = (quote: PriceQuote) => {
          if (quote.symbol !== symbol || quote.price !== price) return;
          book.events.off('price', listener);
          resolve(quote);
        };
        book.events.on('price', listener);
      });
      publisher.publish(priceTopic(symbol), {
        symbol,
        base: symbol.split('/')[0],
        quote: symbol.split('/')[1],
        exchange: 'paper',
        lastPrice: price,
        change24h: null,
        volume24h: null,
        updatedAt: at.toISOString(),
      });
      return seen;
    },
    sql,
    async restart(extra = {}) {
      await running.server.close();
      running = await start(extra);
    },
    async close() {
      try {
        await publisher.close();
        await queue.close();
        await running.server.close();
        await cleanupRedis(prefix, ['portfolio']);
      } finally {
        await database.drop();
      }
    },
  };
  return harness;
}

/** The extension code of the first error. */
export const errorCode = (response: GraphQLResponse): unknown => response.errors?.[0]?.extensions?.code;
