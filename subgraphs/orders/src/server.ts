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
import { createEventConsumer, createOutboxRelay, type EventConsumer, type EventHandlers, type OutboxRelay } from '../../kit/src/events';
import { createRedisPubSub, type RedisPubSub } from '../../kit/src/pubsub';
import type { OrdersConfig } from './config';
import { ordersEntities, ordersMigrations } from './mikro-orm.config';
import { createOrdersEventHandlers } from './order/order.events';
import { createSagaMetrics, registerSagaMetrics, type SagaMetrics } from './order/order.metrics';
import { OrderUpdates } from './order/order.updates';
import { buildOrdersSchema } from './schema';

export interface OrdersServer extends SubgraphServer {
  /** The server's ORM, for seeds and tests; closed by `close()`. */
  orm: MikroORM;
  /** The event handlers by type, bound to this server's saga metrics (tests call them directly). */
  handlers: EventHandlers;
  sagaMetrics: SagaMetrics;
  /** Running with workers; stopped by `close()` before the ORM closes. */
  consumer: EventConsumer | null;
  /** Running when `config.eventsEnabled`, whatever the role; stopped by `close()`. */
  relay: OutboxRelay | null;
  /** The Redis pub/sub of `orderUpdated`; closed by `close()`. */
  pubsub: RedisPubSub;
  /** Publishes committed status changes of orders (the event handlers and mutations do). */
  updates: OrderUpdates;
}

/**
 * Builds the orders subgraph from injected dependencies; reads no environment. Opens the ORM
 * (creating and migrating the database) and the Redis pub/sub of `orderUpdated` and, when events
 * are enabled, starts the relay publishing this subgraph's outbox and, with workers (default
 * `config.eventsEnabled`), the consumer of `events-orders`.
 */
export async function createOrdersServer(deps: { config: OrdersConfig; log: Logger; verifyToken?: TokenVerifier } & RoleDeps): Promise<OrdersServer> {
  const { config, log } = deps;
  const orm = await openOrm({ databaseUrl: config.databaseUrl, entities: ordersEntities, migrations: ordersMigrations, poolSize: config.databasePoolSize });
  let consumer: EventConsumer | null = null;
  let relay: OutboxRelay | null = null;
  // Its publishing connection also tells /ready how Redis is now (the worker's connections reconnect silently).
  const pubsub = createRedisPubSub({ redisUrl: config.redisUrl, prefix: config.pubsubPrefix, log });
  const updates = new OrderUpdates(pubsub, log.child({ component: 'order-updates' }));
  // Once connected, PING answers at once whether Redis is up (no offline queue); until then /ready waits (bounded).
  const connected = pubsub.ready();
  connected.catch(() => undefined);
  const stopEvents = async () => {
    await consumer?.close();
    await relay?.stop();
    // After the consumer: handlers still running publish after their commit.
    await pubsub.close();
  };
  try {
    const sagaMetrics = createSagaMetrics();
    const schema = await buildOrdersSchema({
      defaultCurrency: config.defaultCurrency,
      cartMaxLines: config.cartMaxLines,
      ordersMaxPage: config.ordersMaxPage,
      metrics: sagaMetrics,
      updates,
    });
    const handlers = createOrdersEventHandlers({ metrics: sagaMetrics, log: log.child({ component: 'saga' }), updates });
    const server = await createSubgraphServer({
      name: config.name,
      traces: config.traces,
      schema,
      orm,
      log,
      verifyToken: deps.verifyToken ?? createTokenVerifier(remoteKeys(config.jwksUrl)),
      api: deps.api,
      readiness: { redis: () => connected.then(() => pubsub.ping()) },
      onClose: stopEvents,
    });
    registerSagaMetrics(server.metrics.registry, sagaMetrics);
    const events = { orm, redis: config.redisUrl, log, prefix: config.eventsPrefix, metrics: server.metrics.registry };
    if (deps.workers ?? config.eventsEnabled) {
      consumer = createEventConsumer({ ...events, subgraph: config.name, handlers, concurrency: config.eventsConcurrency, batchSize: config.eventsBatchSize, tracing: server.tracing });
    }
    if (config.eventsEnabled) {
      relay = createOutboxRelay({ ...events, source: config.name, pollIntervalMs: config.eventsPollMs });
      await relay.start();
    }
    return Object.assign(server, { orm, handlers, sagaMetrics, consumer, relay, pubsub, updates });
  } catch (error) {
    await stopEvents().catch(() => undefined);
    await orm.close();
    throw error;
  }
}
