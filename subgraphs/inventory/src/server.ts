import type { Worker } from 'bullmq';
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
import { createRedisClient, type EventHandlers, type RedisTarget } from '../../kit/src/events';
import { reportQueueDepth } from '../../kit/src/queue-depth';
import type { InventoryConfig } from './config';
import { inventoryEntities, inventoryMigrations } from './mikro-orm.config';
import { createReservationEventHandlers } from './reservation/reservation.events';
import { createExpiryWorker, ReservationExpiryQueue, type ExpiryJobResult } from './reservation/reservation.jobs';
import { ReservationService, type ExpiryJobData } from './reservation/reservation.service';
import { createReturnEventHandlers } from './returns/restock.events';
import { RestockService } from './returns/restock.service';
import { buildInventorySchema } from './schema';

export interface InventoryServerDeps extends RoleDeps {
  config: InventoryConfig;
  log: Logger;
  verifyToken?: TokenVerifier;
  /** Redis of the event queues and the reservation expiry queue. Default `config.redisUrl`. */
  redis?: RedisTarget;
  /** Run the event consumer and the expiry worker (and its sweep). Default `config.eventsEnabled`. */
  workers?: boolean;
  /** BullMQ key prefix of every queue the server uses (tests give a unique one). Default `config.eventsPrefix`. */
  prefix?: string;
}

export interface InventoryServer extends SubgraphServer {
  /** The server's ORM, for seeds and for tests that watch SQL (`onSql`). Closed by `close()`. */
  orm: MikroORM;
  reservations: ReservationService;
  /** Puts the goods of approved returns back on the shelf (ReturnApproved). */
  restocks: RestockService;
  /** The event handlers by type (tests call them directly, as the consumer does). */
  eventHandlers: EventHandlers;
  /** Producer of the expiry jobs (connects on first use). */
  expiryQueue: ReservationExpiryQueue;
  /** Runs the delayed expire jobs and the sweep of `inventory-reservation-expiry`; null with workers off. */
  expiryWorker: Worker<Partial<ExpiryJobData>, ExpiryJobResult> | null;
}

/**
 * Builds the inventory subgraph from injected dependencies; reads no environment. With events
 * enabled it runs, through the kit, the outbox relay (source `inventory`); with workers, also the
 * consumer of `events-inventory` (OrderPlaced, OrderConfirmed, OrderCancelled, ReturnApproved) and
 * the reservation expiry worker. `close()` stops them all before the ORM closes.
 */
export async function createInventoryServer(deps: InventoryServerDeps): Promise<InventoryServer> {
  const { config, log } = deps;
  const redis = deps.redis ?? config.redisUrl;
  const prefix = deps.prefix ?? config.eventsPrefix;
  const workersEnabled = deps.workers ?? config.eventsEnabled;
  const orm = await openOrm({
    databaseUrl: config.databaseUrl,
    entities: inventoryEntities,
    migrations: inventoryMigrations,
    poolSize: config.databasePoolSize,
  });

  const expiryQueue = new ReservationExpiryQueue({ redis, prefix, log });
  const reservations = new ReservationService({ ttlSeconds: config.reservationTtlSeconds, scheduler: expiryQueue });
  const restocks = new RestockService({ lowStockDefaultThreshold: config.lowStockDefaultThreshold });
  const eventHandlers: EventHandlers = {
    ...createReservationEventHandlers(reservations, log.child({ component: 'reservations' })),
    ...createReturnEventHandlers(restocks, log.child({ component: 'returns' })),
  };
  let expiryWorker: Worker<Partial<ExpiryJobData>, ExpiryJobResult> | null = null;
  let sweepScheduled: Promise<void> | undefined;
  // Its own small connection, so /ready reports Redis as it is now (the workers' connections reconnect silently).
  const redisProbe = config.eventsEnabled || workersEnabled ? createRedisClient(redis, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 }) : null;
  redisProbe?.on('error', () => undefined);

  // The kit closes the consumer and the relay first; an OrderPlaced in progress still schedules its expiry job.
  let stopExpiryDepth: (() => void) | undefined;
  const closeReservations = async (): Promise<void> => {
    stopExpiryDepth?.();
    await expiryWorker?.close();
    await sweepScheduled;
    await expiryQueue.close();
    if (redisProbe?.status === 'ready') await redisProbe.quit().catch(() => redisProbe.disconnect());
    else redisProbe?.disconnect();
  };

  let server: SubgraphServer;
  try {
    const schema = await buildInventorySchema({
      lowStockDefaultThreshold: config.lowStockDefaultThreshold,
      stockMovementsMaxPage: config.stockMovementsMaxPage,
    });
    server = await createSubgraphServer({
      name: config.name,
      traces: config.traces,
      schema,
      orm,
      log,
      verifyToken: deps.verifyToken ?? createTokenVerifier(remoteKeys(config.jwksUrl)),
      api: deps.api,
      // Routes are the kit's EVENT_ROUTES, which send ReservationExpired to orders (and analytics).
      events: config.eventsEnabled
        ? { redis, prefix, handlers: workersEnabled ? eventHandlers : undefined, concurrency: config.eventsConcurrency, batchSize: config.eventsBatchSize, pollIntervalMs: config.eventsPollMs }
        : undefined,
      readiness: redisProbe
        ? {
            redis: async () => {
              if (redisProbe.status === 'wait') await redisProbe.connect();
              return redisProbe.ping();
            },
          }
        : undefined,
      onClose: closeReservations,
    });
  } catch (error) {
    await closeReservations().catch(() => undefined);
    await orm.close();
    throw error;
  }

  if (workersEnabled) {
    expiryWorker = createExpiryWorker({ orm, service: reservations, redis, prefix, log });
    stopExpiryDepth = reportQueueDepth(server.metrics.registry, expiryQueue.queue);
    sweepScheduled = expiryQueue
      .scheduleSweep(config.reservationSweepSeconds)
      .catch((error: unknown) => log.warn({ err: error }, 'could not schedule the reservation expiry sweep; expiry jobs still run'));
  }
  return Object.assign(server, { orm, reservations, restocks, eventHandlers, expiryQueue, expiryWorker });
}
