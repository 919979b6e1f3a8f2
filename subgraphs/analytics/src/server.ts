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
import { createEventConsumer, createRedisClient, type EventConsumer, type EventHandlers, type RedisTarget } from '../../kit/src/events';
import type { AnalyticsConfig } from './config';
import { createAnalyticsEventHandlers } from './events';
import { analyticsEntities, analyticsMigrations } from './mikro-orm.config';
import { buildAnalyticsSchema } from './schema';

export interface AnalyticsServerDeps extends RoleDeps {
  config: AnalyticsConfig;
  log: Logger;
  verifyToken?: TokenVerifier;
  /** Redis of the event queue. Default `config.redisUrl`. */
  redis?: RedisTarget;
  /** Run the consumer of `events-analytics`. Default `config.eventsEnabled`. */
  workers?: boolean;
  /** BullMQ key prefix of the event queue (tests give a unique one). Default `config.eventsPrefix`. */
  prefix?: string;
  /** What "now" is for the KPIs. Default the system clock. */
  clock?: () => Date;
}

export interface AnalyticsServer extends SubgraphServer {
  /** The server's ORM, for tests; closed by `close()`. */
  orm: MikroORM;
  /** The event handlers by type (tests call them directly, as the consumer does). */
  handlers: EventHandlers;
  /** Running with workers; stopped by `close()` before the ORM closes. */
  consumer: EventConsumer | null;
}

/**
 * Builds the analytics subgraph from injected dependencies; reads no environment. Opens the ORM
 * (creating and migrating the database) and, with workers, consumes `events-analytics` (every
 * domain event routed here, with inbox dedup). Analytics publishes no events, so it runs no relay.
 */
export async function createAnalyticsServer(deps: AnalyticsServerDeps): Promise<AnalyticsServer> {
  const { config, log } = deps;
  const redis = deps.redis ?? config.redisUrl;
  const prefix = deps.prefix ?? config.eventsPrefix;
  const workers = deps.workers ?? config.eventsEnabled;
  const orm = await openOrm({ databaseUrl: config.databaseUrl, entities: analyticsEntities, migrations: analyticsMigrations, poolSize: config.databasePoolSize });
  // Its own small connection, so /ready reports Redis as it is now (the worker's connections reconnect silently).
  const redisProbe = workers ? createRedisClient(redis, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 }) : null;
  redisProbe?.on('error', () => undefined);
  let consumer: EventConsumer | null = null;
  const stop = async (): Promise<void> => {
    await consumer?.close();
    if (redisProbe?.status === 'ready') await redisProbe.quit().catch(() => redisProbe.disconnect());
    else redisProbe?.disconnect();
  };

  try {
    const schema = await buildAnalyticsSchema({
      reportDefaultCurrency: config.reportDefaultCurrency,
      reportMaxDays: config.reportMaxDays,
      lowStockAlertsMaxPage: config.lowStockAlertsMaxPage,
      clock: deps.clock,
    });
    const server = await createSubgraphServer({
      name: config.name,
      traces: config.traces,
      schema,
      orm,
      log,
      verifyToken: deps.verifyToken ?? createTokenVerifier(remoteKeys(config.jwksUrl)),
      api: deps.api,
      readiness: redisProbe
        ? {
            redis: async () => {
              if (redisProbe.status === 'wait') await redisProbe.connect();
              return redisProbe.ping();
            },
          }
        : undefined,
      onClose: stop,
    });
    const handlers = createAnalyticsEventHandlers({ log: log.child({ component: 'rollups' }), registry: server.metrics.registry });
    if (workers) {
      consumer = createEventConsumer({ orm, redis, subgraph: config.name, log, handlers, prefix, concurrency: config.eventsConcurrency, batchSize: config.eventsBatchSize, metrics: server.metrics.registry, tracing: server.tracing });
    }
    return Object.assign(server, { orm, handlers, consumer });
  } catch (error) {
    await stop().catch(() => undefined);
    await orm.close();
    throw error;
  }
}
