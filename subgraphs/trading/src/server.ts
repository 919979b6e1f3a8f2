import type { GraphQLSchema } from 'graphql';
import {
  createSubgraphServer,
  createTokenVerifier,
  openOrm,
  remoteKeys,
  type Logger,
  type MikroORM,
  type SubgraphServer,
  type TokenVerifier,
} from '../../kit/src';
import { createRedisPubSub, type RedisPubSub } from '../../kit/src/pubsub';
import type { TradingConfig } from './config';
import type { MarketFeed } from './market/market-feed';
import { MarketRecorder } from './market/market-recorder';
import { createConfiguredFeed } from './market/market-runtime';
import type { MarketService } from './market/market.service';
import { tradingEntities, tradingMigrations } from './mikro-orm.config';
import { buildTradingSchemaWithServices } from './schema';

export interface TradingServerDeps {
  config: TradingConfig;
  log: Logger;
  verifyToken?: TokenVerifier;
  /**
   * Run the market feed (unless MARKET_FEED=off) and, with EVENTS_ENABLED, the outbox relay.
   * Default true; tests turn it off and start a feed of their own with `startMarket`.
   */
  workers?: boolean;
  /** A feed to run instead of the configured one (e.g. ccxt pointed at a local fake exchange). */
  feed?: MarketFeed;
}

export interface TradingServer extends SubgraphServer {
  /** The server's ORM, for seeds and tests; closed by `close()`. */
  orm: MikroORM;
  /** The Redis pub/sub of subscriptions; closed by `close()`. */
  pubsub: RedisPubSub;
  /** The executable schema (what graphql-ws runs); tests execute subscriptions on it directly. */
  schema: GraphQLSchema;
  market: MarketService;
  /** The running feed and what records it; null until a feed runs. */
  feed: MarketFeed | null;
  recorder: MarketRecorder | null;
  /**
   * Runs `feed` (default: the configured one): every tick is published to subscribers, prices and
   * candles are written in batches. A feed already running is stopped first. Null when MARKET_FEED=off
   * and no feed is given.
   */
  startMarket(feed?: MarketFeed): Promise<MarketFeed | null>;
  /** Stops the feed and writes what its recorder still holds. */
  stopMarket(): Promise<void>;
}

/**
 * Builds the trading subgraph from injected dependencies; reads no environment. Opens the ORM
 * (creating and migrating the database) and the Redis pub/sub; with workers on it starts the
 * market feed. `close()` stops the feed, flushes the last prices, then closes pub/sub and ORM.
 */
export async function createTradingServer(deps: TradingServerDeps): Promise<TradingServer> {
  const { config, log } = deps;
  const workers = deps.workers ?? true;
  const orm = await openOrm({ databaseUrl: config.databaseUrl, entities: tradingEntities, migrations: tradingMigrations, poolSize: config.databasePoolSize });
  const pubsub = createRedisPubSub({ redisUrl: config.redisUrl, prefix: config.pubsubPrefix, log });

  let feed: MarketFeed | null = null;
  let recorder: MarketRecorder | null = null;
  const stopMarket = async (): Promise<void> => {
    const running = feed;
    const recording = recorder;
    feed = null;
    recorder = null;
    await running?.stop();
    await recording?.stop();
  };
  const startMarket = async (given?: MarketFeed): Promise<MarketFeed | null> => {
    await stopMarket();
    const next = given ?? (await createConfiguredFeed(config, orm.em.fork(), log));
    if (!next) return null;
    const nextRecorder = new MarketRecorder({ orm, pubsub, log, flushMs: config.priceFlushMs });
    nextRecorder.start(next);
    next.events.on('status', (status) => log.debug({ status, feed: next.kind }, 'market feed status'));
    next.start();
    feed = next;
    recorder = nextRecorder;
    log.info({ feed: next.kind, exchange: next.exchange }, 'market feed started');
    return next;
  };

  let server: SubgraphServer;
  let market: MarketService;
  let schema: GraphQLSchema;
  try {
    const built = await buildTradingSchemaWithServices({ pubsub });
    market = built.market;
    schema = built.schema;
    server = await createSubgraphServer({
      name: config.name,
      schema: built.schema,
      orm,
      log,
      verifyToken: deps.verifyToken ?? createTokenVerifier(remoteKeys(config.jwksUrl)),
      events: workers && config.eventsEnabled ? { redis: config.redisUrl, prefix: config.eventsPrefix } : undefined,
      readiness: { redis: () => pubsub.ping() },
      onClose: async () => {
        await stopMarket();
        await pubsub.close();
      },
    });
  } catch (error) {
    await pubsub.close().catch(() => undefined);
    await orm.close();
    throw error;
  }

  const trading = Object.assign(server, { orm, pubsub, schema, market, startMarket, stopMarket }) as SubgraphServer &
    Omit<TradingServer, 'feed' | 'recorder'>;
  // Live views: startMarket and stopMarket swap the feed.
  Object.defineProperties(trading, {
    feed: { get: () => feed, enumerable: true },
    recorder: { get: () => recorder, enumerable: true },
  });
  if (workers && (deps.feed || config.marketFeed !== 'off')) {
    try {
      await startMarket(deps.feed);
    } catch (error) {
      await server.close();
      throw error;
    }
  }
  return trading as TradingServer;
}
