import type { Worker } from 'bullmq';
import type { GraphQLSchema } from 'graphql';
import {
  createSubgraphServer,
  createTokenVerifier,
  openOrm,
  remoteKeys,
  type Logger,
  type MikroORM,
  type RoleDeps,
  type SubgraphServer,
  type TokenVerifier,
} from '../../kit/src';
import { startLease, type Lease } from '../../kit/src/lease';
import { reportQueueDepth } from '../../kit/src/queue-depth';
import { createTracing } from '../../kit/src/tracing';
import { createRedisPubSub, type RedisPubSub } from '../../kit/src/pubsub';
import { AccountService } from './accounts/account.service';
import { developmentKeyring, SECRET_LOG_PATHS } from '../../kit/src/secrets';
import type { TradingConfig } from './config';
import { ExchangeAdapters, type AdapterFactory } from './exchange/adapter-pool';
import { createCcxtAdapter } from './exchange/ccxt.adapter';
import { InstrumentEntity } from './market/instrument.entity';
import type { PriceMessage } from './market/instrument.type';
import type { MarketFeed } from './market/market-feed';
import { MarketRecorder, priceTopic } from './market/market-recorder';
import { createConfiguredFeed } from './market/market-runtime';
import type { MarketService } from './market/market.service';
import { tradingEntities, tradingMigrations } from './mikro-orm.config';
import { OrderEngine } from './orders/order-engine';
import { TradeOrderService } from './orders/trade-order.service';
import { TradeOrderUpdates } from './orders/trade-order.updates';
import { createTwapWorker, TwapQueue, type TwapSliceJob, type TwapSliceResult } from './orders/twap.jobs';
import { buildTradingSchemaWithServices } from './schema';
import { cacheVerifiedTokens } from './shared/token-cache';
import { userEventHandlers } from './user/user.events';

/**
 * How long after a commit the outbox relay drains: commits within it share one batch. Portfolio
 * pushes updates at most every 500 ms anyway, and fewer drains leave the engine's trigger commits
 * fewer relay transactions to queue behind.
 */
const RELAY_COMMIT_WAKE_MS = 100;

/** The kit logger's redactions plus every field that may carry an exchange secret. */
const TRADING_REDACT_PATHS = [...new Set([...SECRET_LOG_PATHS, 'req.headers.authorization'])];

export interface TradingServerDeps extends RoleDeps {
  config: TradingConfig;
  log: Logger;
  verifyToken?: TokenVerifier;
  /**
   * Run the workers: the market feed (unless MARKET_FEED=off), the order engine watching prices,
   * TWAP slices and the sync of real-exchange orders. Default true; tests turn it off and start a
   * feed of their own with `startMarket`.
   */
  workers?: boolean;
  /** A feed to run instead of the configured one (e.g. ccxt pointed at a local fake exchange). */
  feed?: MarketFeed;
  /** Builds adapters for real exchanges; default ccxt. Tests point ccxt at a local fake exchange. */
  adapterFactory?: AdapterFactory;
}

export interface TradingServer extends SubgraphServer {
  /** The server's ORM, for seeds and tests; closed by `close()`. */
  orm: MikroORM;
  /** The Redis pub/sub of subscriptions; closed by `close()`. */
  pubsub: RedisPubSub;
  /** The executable schema (what graphql-ws runs); tests execute subscriptions on it directly. */
  schema: GraphQLSchema;
  market: MarketService;
  accounts: AccountService;
  orders: TradeOrderService;
  /** Places, watches and executes trade orders. */
  engine: OrderEngine;
  /** Schedules TWAP slices (delayed BullMQ jobs). */
  twapQueue: TwapQueue;
  /** Runs TWAP slices; null with workers off. */
  twapWorker: Worker<TwapSliceJob, TwapSliceResult> | null;
  /** The running feed and what records it; null until a feed runs. */
  feed: MarketFeed | null;
  recorder: MarketRecorder | null;
  /**
   * Runs `feed` (default: the configured one): every tick is published to subscribers and handed to
   * the order engine, prices and candles are written in batches. A feed already running is stopped
   * first. Null when MARKET_FEED=off and no feed is given.
   */
  startMarket(feed?: MarketFeed): Promise<MarketFeed | null>;
  /** Stops the feed and writes what its recorder still holds. */
  stopMarket(): Promise<void>;
}

/**
 * Builds the trading subgraph from injected dependencies; reads no environment. Opens the ORM
 * (creating and migrating the database), the Redis pub/sub, the prices published by the feed and,
 * with EVENTS_ENABLED, the outbox relay (and with workers the consumer of UserDeleted); with workers
 * on it starts the market feed, the order engine's watch, the TWAP worker and the exchange sync.
 * `close()` stops them, flushes the last prices, then closes pub/sub and ORM.
 */
export async function createTradingServer(deps: TradingServerDeps): Promise<TradingServer> {
  const { config } = deps;
  const log = deps.log.child({}, { redact: { paths: TRADING_REDACT_PATHS, censor: '[redacted]' } });
  const workers = deps.workers ?? true;
  const orm = await openOrm({ databaseUrl: config.databaseUrl, entities: tradingEntities, migrations: tradingMigrations, poolSize: config.databasePoolSize });
  const pubsub = createRedisPubSub({ redisUrl: config.redisUrl, prefix: config.pubsubPrefix, log });

  const keyring = config.credentialKeyring ?? (config.env === 'production' ? null : developmentKeyring('trading'));
  if (!keyring) log.warn('CREDENTIALS_KEYS is not set: linking real exchange accounts is disabled');
  const adapters = new ExchangeAdapters({
    factory: deps.adapterFactory ?? ((options) => createCcxtAdapter(options)),
    keyring,
    timeoutMs: config.orders.exchangeTimeoutMs,
    log,
  });
  const updates = new TradeOrderUpdates(pubsub, log.child({ component: 'trade-order-updates' }));
  const twapQueue = new TwapQueue({ redis: config.redisUrl, prefix: config.eventsPrefix, log });
  // Made before the server: the engine's triggers and the TWAP slices record spans too.
  const tracing = createTracing({ ...config.traces, serviceName: config.name });
  const engine = new OrderEngine({
    orm,
    log,
    tracing,
    updates,
    adapters,
    twap: twapQueue,
    sync: pubsub,
    triggerFlushMs: config.orders.triggerFlushMs,
    exchangeTimeoutMs: config.orders.exchangeTimeoutMs,
  });
  const accounts = new AccountService({ paperDefaults: config.paperAccounts, adapters });
  const orders = new TradeOrderService({
    engine,
    risk: config.risk,
    limits: { twapMinIntervalMs: config.orders.twapMinIntervalMs, twapMaxDurationMs: config.orders.twapMaxDurationMs },
    maxPage: config.orders.maxPage,
  });

  let feed: MarketFeed | null = null;
  let recorder: MarketRecorder | null = null;
  let detachFeed: (() => void) | null = null;
  const stopMarket = async (): Promise<void> => {
    const running = feed;
    const recording = recorder;
    feed = null;
    recorder = null;
    detachFeed?.();
    detachFeed = null;
    await running?.stop();
    await recording?.stop();
  };
  const startMarket = async (given?: MarketFeed): Promise<MarketFeed | null> => {
    await stopMarket();
    const next = given ?? (await createConfiguredFeed(config, orm.em.fork(), log));
    if (!next) return null;
    const nextRecorder = new MarketRecorder({ orm, pubsub, log, flushMs: config.priceFlushMs });
    nextRecorder.start(next);
    // The engine hears ticks of a feed in this process at once; other replicas through Redis.
    const onTick = (tick: { symbol: string; lastPrice: string; timestamp: number }) => engine.onTick(tick);
    next.events.on('tick', onTick);
    detachFeed = () => next.events.off('tick', onTick);
    next.events.on('status', (status) => log.debug({ status, feed: next.kind }, 'market feed status'));
    next.start();
    feed = next;
    recorder = nextRecorder;
    log.info({ feed: next.kind, exchange: next.exchange }, 'market feed started');
    return next;
  };

  let twapWorker: Worker<TwapSliceJob, TwapSliceResult> | null = null;
  let stopTwapDepth: (() => void) | undefined;
  let exchangeSync: NodeJS.Timeout | null = null;
  const priceStreams: AsyncIterator<unknown>[] = [];
  let feedLease: Lease | null = null;
  const stopWorkers = async (): Promise<void> => {
    await feedLease?.stop();
    if (exchangeSync) clearInterval(exchangeSync);
    exchangeSync = null;
    await Promise.all(priceStreams.map((stream) => stream.return?.()));
    stopTwapDepth?.();
    await twapWorker?.close();
    await engine.close();
    await twapQueue.close();
    await adapters.close();
  };

  let server: SubgraphServer;
  let market: MarketService;
  let schema: GraphQLSchema;
  try {
    const built = await buildTradingSchemaWithServices({ pubsub, services: { accounts, orders, updates } });
    market = built.market;
    schema = built.schema;
    server = await createSubgraphServer({
      name: config.name,
      tracing,
      schema: built.schema,
      orm,
      log,
      // Traders place orders in bursts under one token: its signature is checked once a minute, not per order.
      verifyToken: cacheVerifiedTokens(deps.verifyToken ?? createTokenVerifier(remoteKeys(config.jwksUrl))),
      api: deps.api,
      events: config.eventsEnabled
        ? {
            redis: config.redisUrl,
            prefix: config.eventsPrefix,
            pollIntervalMs: config.eventsPollMs,
            commitWakeDelayMs: RELAY_COMMIT_WAKE_MS,
            handlers: workers ? userEventHandlers({ orders, accounts, log: log.child({ component: 'user-erasure' }) }) : undefined,
            // An erasure holds a pooled connection for its inbox transaction while its cancels take others:
            // at most half the pool at once, so those cancels are not starved. No batches: it calls exchanges.
            concurrency: Math.min(config.eventsConcurrency, Math.max(1, Math.floor(config.databasePoolSize / 2))),
          }
        : undefined,
      readiness: { redis: () => pubsub.ping() },
      onClose: async () => {
        await stopWorkers();
        await stopMarket();
        await pubsub.close();
      },
    });
    engine.registerMetrics(server.metrics.registry);
    const relay = server.eventing?.relay;
    // The engine writes in single statements outside ORM transactions, which the relay's commit hook does not see.
    if (relay) engine.on('changed', () => relay.committed());
  } catch (error) {
    await stopWorkers().catch(() => undefined);
    await pubsub.close().catch(() => undefined);
    await orm.close();
    throw error;
  }

  const trading = Object.assign(server, { orm, pubsub, schema, market, accounts, orders, engine, twapQueue, startMarket, stopMarket }) as SubgraphServer &
    Omit<TradingServer, 'feed' | 'recorder' | 'twapWorker'>;
  // Live views: startMarket and stopMarket swap the feed.
  Object.defineProperties(trading, {
    feed: { get: () => feed, enumerable: true },
    recorder: { get: () => recorder, enumerable: true },
    twapWorker: { get: () => twapWorker, enumerable: true },
  });
  try {
    // Prices published by a feed in another process (a feed here is heard directly; repeats are
    // ignored): what market orders fill at, and what the engine's watch fires on.
    const symbols = (await orm.em.fork().find(InstrumentEntity, {}, { fields: ['symbol'] })).map((row) => row.symbol);
    for (const symbol of symbols) {
      const stream = pubsub.subscribe(priceTopic(symbol))[Symbol.asyncIterator]();
      priceStreams.push(stream);
      void (async () => {
        for (;;) {
          const next = await stream.next().catch(() => ({ done: true as const, value: undefined }));
          if (next.done) return;
          const message = next.value as PriceMessage;
          engine.onTick({ symbol: message.symbol, lastPrice: message.lastPrice, timestamp: Date.parse(message.updatedAt) });
        }
      })();
    }
  } catch (error) {
    await server.close();
    throw error;
  }
  if (workers) {
    try {
      await engine.start();
      twapWorker = createTwapWorker({ redis: config.redisUrl, prefix: config.eventsPrefix, log, tracing, run: (orderId, index) => engine.runTwapSlice(orderId, index) });
      stopTwapDepth = reportQueueDepth(server.metrics.registry, twapQueue.queue);
      exchangeSync = setInterval(() => {
        engine.syncExchangeOrders().catch((error: unknown) => log.warn({ err: error }, 'exchange order sync failed'));
      }, config.orders.exchangePollMs);
      void accounts
        .resealAll(orm.em.fork())
        .then((count) => count > 0 && log.info({ count }, 'exchange credentials re-sealed under the current key'))
        .catch((error: unknown) => log.warn({ err: error }, 'exchange credentials not re-sealed'));
      if (deps.feed) await startMarket(deps.feed);
      else if (config.marketFeed !== 'off') {
        // One feed among the replicas: the lease holder runs it, the others hear its ticks through Redis.
        feedLease = startLease({
          redis: config.redisUrl,
          key: `${config.pubsubPrefix}market-feed-lease`,
          ttlMs: config.feedLeaseMs,
          log,
          onAcquired: async () => void (await startMarket()),
          onLost: stopMarket,
        });
        await feedLease.settled();
      }
    } catch (error) {
      await server.close();
      throw error;
    }
  }
  return trading as TradingServer;
}
