import { print, type DocumentNode } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { createTokenVerifier, JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER, remoteKeys, type Role, type TokenVerifier } from '../../../subgraphs/kit/src/auth';
import { printFederatedSdl } from '../../../subgraphs/kit/src/federation';
import { createLogger } from '../../../subgraphs/kit/src/logger';
import type { SubgraphServer } from '../../../subgraphs/kit/src/server';
import { graphqlRequest, testDatabaseUrl, type GraphQLResponse } from '../../../subgraphs/kit/src/testing';
import { createCatalogServer, type CatalogServer } from '../../../subgraphs/catalog/src/server';
import { readCatalogConfig } from '../../../subgraphs/catalog/src/config';
import { createInventoryServer, type InventoryServer } from '../../../subgraphs/inventory/src/server';
import { readInventoryConfig } from '../../../subgraphs/inventory/src/config';
import { createUsersServer, type UsersServer } from '../../../subgraphs/users/src/server';
import { readUsersConfig } from '../../../subgraphs/users/src/config';
import { readOrdersConfig } from '../../../subgraphs/orders/src/config';
import { createOrdersServer, type OrdersServer } from '../../../subgraphs/orders/src/server';
import { readPaymentsConfig } from '../../../subgraphs/payments/src/config';
import { createPaymentsServer, type PaymentsServer } from '../../../subgraphs/payments/src/server';
import { readTradingConfig } from '../../../subgraphs/trading/src/config';
import { tradingEntities, tradingMigrations } from '../../../subgraphs/trading/src/mikro-orm.config';
import { DEMO_INSTRUMENTS, seedTrading } from '../../../subgraphs/trading/src/seeds/trading.seed';
import { createTradingServer, type TradingServer } from '../../../subgraphs/trading/src/server';
import { readPortfolioConfig } from '../../../subgraphs/portfolio/src/config';
import { createPortfolioServer, type PortfolioServer } from '../../../subgraphs/portfolio/src/server';
import { readSignalsConfig } from '../../../subgraphs/signals/src/config';
import { createSignalsServer, type SignalsServer } from '../../../subgraphs/signals/src/server';
import { readAnalyticsConfig } from '../../../subgraphs/analytics/src/config';
import { createAnalyticsServer, type AnalyticsServer } from '../../../subgraphs/analytics/src/server';
import { openOrm } from '../../../subgraphs/kit/src/orm';
import { createRedisClient } from '../../../subgraphs/kit/src/events';
import { REDIS_URL, testPrefix } from '../../../subgraphs/kit/src/events/testing';
import { composeSupergraph } from '../../../scripts/composition';
import { DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { SUBGRAPH_PROCESSES } from '../../../scripts/stack';
import { SUBGRAPH_SCHEMAS } from '../../../scripts/subgraphs';
import { readRouterConfig } from '../../src/config';
import { createRouter, type RouterServer } from '../../src/server';

export type SubgraphName = 'users' | 'catalog' | 'orders' | 'payments' | 'inventory' | 'trading' | 'portfolio' | 'signals' | 'analytics';

/** The server type of each subgraph (orders and payments expose their relay and consumer, trading its market). */
export interface SubgraphServers {
  users: UsersServer;
  catalog: CatalogServer;
  orders: OrdersServer;
  payments: PaymentsServer;
  inventory: InventoryServer;
  trading: TradingServer;
  portfolio: PortfolioServer;
  signals: SignalsServer;
  analytics: AnalyticsServer;
}

const STACK_KEY_ID = 'e2e-stack';
export const SUBGRAPH_NAMES: readonly SubgraphName[] = ['users', 'catalog', 'orders', 'payments', 'inventory', 'trading', 'portfolio', 'signals', 'analytics'];

/** The real subgraphs on port 0, each on a fresh seeded database, composed in-process behind the real router. */
export interface Stack {
  routerUrl: string;
  /** The router, for its subscription server's stats and events. */
  router: RouterServer;
  /** GraphQL requests each subgraph received since the last resetCalls(). */
  calls: Record<SubgraphName, number>;
  resetCalls(): void;
  /** The subgraphs' HTTP base URLs (webhooks). */
  baseUrls: Record<SubgraphName, string>;
  /** Each subgraph's database (inspect with a pg Client; the stack drops them on close). */
  databaseUrls: Record<SubgraphName, string>;
  /** The Redis every subgraph's queues live in. */
  redisUrl: string;
  /** The BullMQ key prefix of this stack's queues (for `listFailed` and queue inspection). */
  eventsPrefix: string;
  /** The Redis channel prefix of this stack's subscription pub/sub (orders, trading). */
  pubsubPrefix: string;
  request<TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TResult, TVariables> | DocumentNode,
    variables?: TVariables,
    token?: string,
  ): Promise<GraphQLResponse<TResult>>;
  /** An access token for a user who never logged in, signed with the users subgraph's key (load tests). */
  mintToken(userId: string, role?: Role): Promise<string>;
  /** The running server of a subgraph; throws while it is stopped. */
  server<N extends SubgraphName>(name: N): SubgraphServers[N];
  /**
   * Stops a subgraph as its process stopping would: closes its server (HTTP, relay, consumer, ORM).
   * What it left behind stays where a stopped process leaves it: jobs in its queue in Redis, rows
   * in its outbox unpublished. The router's requests to it fail until `startSubgraph`.
   */
  stopSubgraph(name: SubgraphName): Promise<void>;
  /**
   * Starts a stopped subgraph again: a new server on the same database, Redis and event prefix,
   * listening on the port it had, so the router's supergraph (fixed URLs) reaches it.
   */
  startSubgraph(name: SubgraphName): Promise<void>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Extra environment for one subgraph's config (e.g. Stripe for payments). */
  env?: Partial<Record<SubgraphName, Record<string, string>>>;
  /** Extra environment for the router's config. */
  routerEnv?: Record<string, string>;
  /** Redis for every subgraph's queues and the router. Default: the shared test Redis (`TEST_REDIS_URL` or 127.0.0.1:6379). */
  redisUrl?: string;
}

/**
 * The demo instruments with their last day of one-minute candles: the e2e tests need the
 * instruments, not the months of charts the full seed simulates (which takes seconds).
 */
async function seedInstruments(databaseUrl: string): Promise<void> {
  const orm = await openOrm({ databaseUrl, entities: tradingEntities, migrations: tradingMigrations, poolSize: 2 });
  try {
    await seedTrading(orm.em.fork(), DEMO_INSTRUMENTS, { historyDays: 0 });
  } finally {
    await orm.close();
  }
}

/** How long startSubgraph keeps retrying a port that is still held (e.g. by a closing socket). */
const RELISTEN_TIMEOUT_MS = 10_000;

async function listenOn(server: SubgraphServer, port: number): Promise<string> {
  const deadline = Date.now() + RELISTEN_TIMEOUT_MS;
  for (;;) {
    try {
      return await server.listen(port);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Deletes every key under the stack's prefix (its queues, jobs and schedulers) from `redisUrl`. */
async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = createRedisClient(redisUrl);
  redis.on('error', () => undefined);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const log = createLogger('e2e', process.env.E2E_LOG ?? 'silent');
  const redisUrl = options.redisUrl ?? REDIS_URL;
  const eventsPrefix = testPrefix('e2e');
  const pubsubPrefix = `${eventsPrefix}:pubsub:`;
  const screenshotDir = mkdtempSync(path.join(tmpdir(), 'e2e-screenshots-'));
  const env = (name: SubgraphName, databaseUrl: string) => ({
    DATABASE_URL: databaseUrl,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    REDIS_URL: redisUrl,
    EVENTS_PREFIX: eventsPrefix,
    PUBSUB_PREFIX: pubsubPrefix,
    // No market runs by itself: a test that wants prices starts a feed it ticks (trading.startMarket).
    ...(name === 'trading' ? { MARKET_FEED: 'off' } : {}),
    ...options.env?.[name],
  });
  const databases = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, testDatabaseUrl(`e2e_${name}`)])) as Record<SubgraphName, { url: string; drop(): Promise<void> }>;
  for (const subgraph of SUBGRAPH_PROCESSES.filter((process) => SUBGRAPH_NAMES.includes(process.name as SubgraphName))) {
    const databaseUrl = databases[subgraph.name as SubgraphName].url;
    if (subgraph.name === 'trading') await seedInstruments(databaseUrl);
    else await subgraph.seed(databaseUrl, DEMO_PRODUCTS);
  }

  const servers: Partial<SubgraphServers> = {};
  const urls = {} as Record<SubgraphName, string>;
  const ports = {} as Record<SubgraphName, number>;
  const calls = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, 0])) as Record<SubgraphName, number>;

  const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const usersEnv = { ...env('users', databases.users.url), JWT_PRIVATE_KEY: signingKey.export({ type: 'pkcs8', format: 'pem' }).toString(), JWT_KEY_ID: STACK_KEY_ID };
  // Set once users listens: the others verify tokens against its JWKS (same port across restarts).
  let verifyToken: TokenVerifier | undefined;
  const factories: { [N in SubgraphName]: () => Promise<SubgraphServers[N]> } = {
    users: () => createUsersServer({ config: readUsersConfig(usersEnv), log }),
    catalog: () => createCatalogServer({ config: readCatalogConfig(env('catalog', databases.catalog.url)), log, verifyToken }),
    orders: () => createOrdersServer({ config: readOrdersConfig(env('orders', databases.orders.url)), log, verifyToken }),
    payments: () => createPaymentsServer({ config: readPaymentsConfig(env('payments', databases.payments.url)), log, verifyToken }),
    inventory: () => createInventoryServer({ config: readInventoryConfig(env('inventory', databases.inventory.url)), log, verifyToken }),
    trading: () => createTradingServer({ config: readTradingConfig(env('trading', databases.trading.url)), log, verifyToken }),
    portfolio: () => createPortfolioServer({ config: readPortfolioConfig(env('portfolio', databases.portfolio.url)), log, verifyToken }),
    // Charts take candles from trading (launched before signals); screenshot jobs live under the stack's prefix.
    signals: () =>
      createSignalsServer({
        config: readSignalsConfig({ ...env('signals', databases.signals.url), TRADING_URL: urls.trading, SCREENSHOT_QUEUE_PREFIX: eventsPrefix, SCREENSHOT_DIR: screenshotDir }),
        log,
        verifyToken,
      }),
    analytics: () => createAnalyticsServer({ config: readAnalyticsConfig(env('analytics', databases.analytics.url)), log, verifyToken }),
  };

  async function launch<N extends SubgraphName>(name: N, port: number): Promise<void> {
    const server = await factories[name]();
    try {
      urls[name] = await listenOn(server, port);
      // orders and trading publish subscription events: a message published before Redis answered would be dropped.
      await (server as Partial<{ pubsub: { ready(): Promise<void> } }>).pubsub?.ready();
    } catch (error) {
      await server.close();
      throw error;
    }
    ports[name] = (server.httpServer.address() as AddressInfo).port;
    server.httpServer.on('request', (req) => {
      if (req.url?.startsWith('/graphql')) calls[name] += 1;
    });
    servers[name] = server;
  }

  let router: Awaited<ReturnType<typeof createRouter>> | undefined;
  try {
    await launch('users', 0);
    const jwksUrl = urls.users.replace('/graphql', '/.well-known/jwks.json');
    verifyToken = createTokenVerifier(remoteKeys(jwksUrl));
    for (const name of SUBGRAPH_NAMES.filter((name) => name !== 'users')) await launch(name, 0);

    const subgraphs = await Promise.all(
      SUBGRAPH_NAMES.map(async (name) => ({ name, url: urls[name], sdl: printFederatedSdl(await SUBGRAPH_SCHEMAS[name]!()) })),
    );
    router = await createRouter({
      // CI runs several nine-subgraph stacks at once on two cores: a burst (200 concurrent checkouts)
      // may queue longer than the production 10 s bound, and these tests check outcomes, not speed.
      // Tests poll as one user faster than a person would: no per-user limit (the plugin's own test covers it).
      config: readRouterConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        JWKS_URL: jwksUrl,
        REDIS_URL: redisUrl,
        SUBGRAPH_TIMEOUT_MS: '60000',
        RATE_LIMIT_USER_PER_MINUTE: '0',
        ...options.routerEnv,
      }),
      log,
      verifyToken,
      supergraphSdl: composeSupergraph(subgraphs).supergraphSdl,
    });
  } catch (error) {
    for (const server of Object.values(servers)) await server.close().catch(() => undefined);
    for (const database of Object.values(databases)) await database.drop().catch(() => undefined);
    rmSync(screenshotDir, { recursive: true, force: true });
    throw error;
  }
  const routerUrl = await router.listen(0);
  const runningRouter = router;

  function running<N extends SubgraphName>(name: N): SubgraphServers[N] {
    const server = servers[name];
    if (!server) throw new Error(`subgraph ${name} is stopped`);
    return server as SubgraphServers[N];
  }

  return {
    routerUrl,
    router: runningRouter,
    baseUrls: Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, urls[name].replace(/\/graphql$/, '')])) as Record<SubgraphName, string>,
    databaseUrls: Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, databases[name].url])) as Record<SubgraphName, string>,
    redisUrl,
    eventsPrefix,
    pubsubPrefix,
    calls,
    resetCalls() {
      for (const name of Object.keys(calls) as SubgraphName[]) calls[name] = 0;
    },
    request(document, variables, token) {
      return graphqlRequest(routerUrl, print(document), { variables, token });
    },
    mintToken(userId, role = 'CUSTOMER') {
      return new SignJWT({ role, scopes: [] })
        .setProtectedHeader({ alg: JWT_ALGORITHM, kid: STACK_KEY_ID })
        .setSubject(userId)
        .setIssuer(JWT_ISSUER)
        .setAudience(JWT_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('15m')
        .sign(signingKey);
    },
    server: running,
    async stopSubgraph(name) {
      const server = running(name);
      delete servers[name];
      await server.close();
    },
    async startSubgraph(name) {
      if (servers[name]) throw new Error(`subgraph ${name} is already running`);
      await launch(name, ports[name]);
    },
    async close() {
      await runningRouter.close();
      for (const name of SUBGRAPH_NAMES) {
        const server = servers[name];
        delete servers[name];
        await server?.close();
      }
      for (const database of Object.values(databases)) await database.drop();
      await deleteRedisKeys(redisUrl, eventsPrefix);
      rmSync(screenshotDir, { recursive: true, force: true });
    },
  };
}

/**
 * Asks `read` again until `done` holds for its answer: the saga moves through queues, so the test
 * waits on the state it expects, bounded so a stuck saga fails the test instead of hanging it.
 */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await read();
  }
  return last;
}
