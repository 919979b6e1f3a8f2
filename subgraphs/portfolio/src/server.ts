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
import { createEventConsumer, type EventConsumer, type EventHandlers } from '../../kit/src/events';
import { createRedisPubSub, type RedisPubSub } from '../../kit/src/pubsub';
import { reportQueueDepth } from '../../kit/src/queue-depth';
import type { PortfolioConfig } from './config';
import { createPortfolioEventHandlers } from './holding/fill.events';
import { HoldingEntity } from './holding/holding.entity';
import { portfolioEntities, portfolioMigrations } from './mikro-orm.config';
import { createErasureEventHandlers } from './portfolio/portfolio.events';
import type { PortfolioService } from './portfolio/portfolio.service';
import type { PortfolioUpdates } from './portfolio/portfolio.updates';
import { PriceBook } from './price/price-book';
import { buildPortfolioSchemaWithServices } from './schema';
import { SnapshotJobs } from './snapshot/snapshot.jobs';
import type { SnapshotService } from './snapshot/snapshot.service';
import { TargetAllocationEntity } from './target/target.entity';

export interface PortfolioServerDeps extends RoleDeps {
  config: PortfolioConfig;
  log: Logger;
  verifyToken?: TokenVerifier;
  /** Run the consumer of `events-portfolio` and the snapshot job. Default `config.eventsEnabled`. */
  workers?: boolean;
}

export interface PortfolioServer extends SubgraphServer {
  /** The server's ORM, for tests; closed by `close()`. */
  orm: MikroORM;
  /** Ticks in, `portfolioUpdated` out; closed by `close()`. */
  pubsub: RedisPubSub;
  /** The executable schema (what graphql-ws runs). */
  schema: GraphQLSchema;
  prices: PriceBook;
  portfolios: PortfolioService;
  snapshots: SnapshotService;
  updates: PortfolioUpdates;
  /** The event handlers by type (tests call them directly, as the consumer does). */
  handlers: EventHandlers;
  /** Running with workers; stopped by `close()` before the ORM closes. */
  consumer: EventConsumer | null;
  snapshotJobs: SnapshotJobs | null;
}

/** The instruments whose prices the portfolios need: those held and those targeted. */
async function neededSymbols(orm: MikroORM, quoteCurrencies: readonly string[]): Promise<string[]> {
  const em = orm.em.fork();
  const held = await em.find(HoldingEntity, { quantity: { $gt: '0' } }, { fields: ['symbol'] });
  const targeted = await em.find(TargetAllocationEntity, { asset: { $nin: [...quoteCurrencies] } }, { fields: ['asset'] });
  return [...new Set([...held.map((row) => row.symbol), ...targeted.map((row) => `${row.asset}/${quoteCurrencies[0]}`)])];
}

/**
 * Builds the portfolio subgraph from injected dependencies; reads no environment. Opens the ORM
 * (creating and migrating the database), the Redis pub/sub and the price book (loaded from
 * `last_price`, following the ticks of every held or targeted instrument). With workers it consumes
 * `events-portfolio` (fills and erasures, with inbox dedup) and runs the snapshot job. Portfolio
 * publishes no domain events, so it runs no outbox relay. `close()` stops the workers, writes the
 * last prices, then closes pub/sub and ORM.
 */
export async function createPortfolioServer(deps: PortfolioServerDeps): Promise<PortfolioServer> {
  const { config, log } = deps;
  const workers = deps.workers ?? config.eventsEnabled;
  const orm = await openOrm({ databaseUrl: config.databaseUrl, entities: portfolioEntities, migrations: portfolioMigrations, poolSize: config.databasePoolSize });
  const pubsub = createRedisPubSub({ redisUrl: config.redisUrl, prefix: config.pubsubPrefix, log });
  const connected = pubsub.ready();
  connected.catch(() => undefined);
  const prices = new PriceBook({ pubsub, log, flushMs: config.priceFlushMs });
  let consumer: EventConsumer | null = null;
  let snapshotJobs: SnapshotJobs | null = null;
  let stopSnapshotDepth: (() => void) | undefined;
  let pricesStarted = false;
  const stop = async (): Promise<void> => {
    stopSnapshotDepth?.();
    await consumer?.close();
    await snapshotJobs?.close();
    await prices.stop(pricesStarted ? orm.em : null);
    await pubsub.close();
  };

  try {
    await prices.start(orm.em);
    pricesStarted = true;
    const built = await buildPortfolioSchemaWithServices({
      pubsub,
      prices,
      quoteCurrencies: config.quoteCurrencies,
      updateThrottleMs: config.updateThrottleMs,
      snapshotsMaxPage: config.snapshotsMaxPage,
      riskMaxSamples: config.riskMaxSamples,
    });
    const handlers = {
      ...createPortfolioEventHandlers({ prices, updates: built.updates, quoteCurrencies: config.quoteCurrencies, log: log.child({ component: 'fills' }) }),
      ...createErasureEventHandlers({ updates: built.updates }),
    };
    const server = await createSubgraphServer({
      name: config.name,
      traces: config.traces,
      schema: built.schema,
      orm,
      log,
      verifyToken: deps.verifyToken ?? createTokenVerifier(remoteKeys(config.jwksUrl)),
      api: deps.api,
      readiness: { redis: () => connected.then(() => pubsub.ping()) },
      onClose: stop,
    });
    // Ticks published before Redis confirmed are missed; the persisted prices cover the gap.
    void prices.follow(await neededSymbols(orm, config.quoteCurrencies));
    if (workers) {
      consumer = createEventConsumer({
        orm,
        redis: config.redisUrl,
        subgraph: config.name,
        log,
        handlers,
        prefix: config.eventsPrefix,
        concurrency: config.eventsConcurrency,
        batchSize: config.eventsBatchSize,
        metrics: server.metrics.registry,
        tracing: server.tracing,
      });
      snapshotJobs = new SnapshotJobs({ orm, service: built.snapshots, redis: config.redisUrl, prefix: config.eventsPrefix, log, intervalSeconds: config.snapshotIntervalSeconds });
      await snapshotJobs.start();
      stopSnapshotDepth = reportQueueDepth(server.metrics.registry, snapshotJobs.queue);
    }
    return Object.assign(server, {
      orm,
      pubsub,
      schema: built.schema,
      prices,
      portfolios: built.portfolios,
      snapshots: built.snapshots,
      updates: built.updates,
      handlers,
      consumer,
      snapshotJobs,
    });
  } catch (error) {
    await stop().catch(() => undefined);
    await orm.close();
    throw error;
  }
}
