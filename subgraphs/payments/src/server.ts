import {
  createRedisClient,
  createSubgraphServer,
  createTokenVerifier,
  openOrm,
  remoteKeys,
  startEventing,
  type EventConsumer,
  type EventHandlers,
  type Eventing,
  type Logger,
  type MikroORM,
  type OutboxRelay,
  type RoleDeps,
  type SubgraphServer,
  type TokenVerifier,
} from '../../kit/src';
import type { PaymentsConfig } from './config';
import { paymentsEntities, paymentsMigrations } from './mikro-orm.config';
import { DevPaymentProvider } from './payment/dev.provider';
import { createPaymentEventHandlers } from './payment/payment.events';
import { createPaymentMetrics, registerPaymentMetrics } from './payment/payment.metrics';
import type { PaymentProvider } from './payment/payment.provider';
import { PaymentService } from './payment/payment.service';
import { createStripeClient, StripePaymentProvider, type StripeClient } from './payment/stripe.provider';
import { stripeWebhookRoute } from './payment/stripe.webhook';
import { buildPaymentsSchema } from './schema';

export interface PaymentsServerDeps extends RoleDeps {
  config: PaymentsConfig;
  log: Logger;
  verifyToken?: TokenVerifier;
}

export interface PaymentsServer extends SubgraphServer {
  /** The server's ORM, for tests that inspect rows. Closed by `close()`. */
  orm: MikroORM;
  service: PaymentService;
  provider: PaymentProvider;
  /** The Stripe SDK client; null on the development provider. */
  stripe: StripeClient | null;
  /** The handlers of the events payments consumes (`PaymentRequested`, `ReturnApproved`, `OrderCancelled`), by type; tests call them directly. */
  eventHandlers: EventHandlers;
  /** Running with workers; stopped by `close()` before the ORM closes. */
  consumer: EventConsumer | null;
  /** Running when `config.eventsEnabled`, whatever the role. */
  relay: OutboxRelay | null;
}

/**
 * Builds the payments subgraph from injected dependencies; reads no environment. Opens the ORM
 * (creating and migrating the database), serves `POST /webhooks/stripe` when Stripe is configured
 * and, when events are enabled, relays this subgraph's outbox and, with workers (default
 * `config.eventsEnabled`), consumes `events-payments` and asks again for stalled charges.
 */
export async function createPaymentsServer(deps: PaymentsServerDeps): Promise<PaymentsServer> {
  const { config, log } = deps;
  const api = deps.api ?? true;
  const workers = deps.workers ?? config.eventsEnabled;
  const stripe = config.stripe ? createStripeClient(config.stripe) : null;
  const provider: PaymentProvider = stripe ? new StripePaymentProvider(stripe) : new DevPaymentProvider();
  if (!stripe && config.env === 'production') log.warn('STRIPE_SECRET_KEY is not set: the development payment provider settles every payment without charging anyone');
  const metrics = createPaymentMetrics();
  const service = new PaymentService({ provider, metrics, log: log.child({ component: 'payments' }) });
  const eventHandlers = createPaymentEventHandlers(service);
  const schema = await buildPaymentsSchema(service);

  const orm = await openOrm({ databaseUrl: config.databaseUrl, entities: paymentsEntities, migrations: paymentsMigrations, poolSize: config.databasePoolSize });
  let eventing: Eventing | null = null;
  // Its own small connection, so /ready reports Redis as it is now (the worker's connections reconnect silently).
  const redisProbe = config.eventsEnabled ? createRedisClient(config.redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 }) : null;
  redisProbe?.on('error', () => undefined);
  let chargeSweep: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> | undefined;
  const stopEvents = async () => {
    clearInterval(chargeSweep);
    await sweeping;
    await eventing?.close();
    if (redisProbe?.status === 'ready') await redisProbe.quit().catch(() => redisProbe.disconnect());
    else redisProbe?.disconnect();
  };
  try {
    const server = await createSubgraphServer({
      name: config.name,
      traces: config.traces,
      schema,
      orm,
      log,
      verifyToken: deps.verifyToken ?? createTokenVerifier(remoteKeys(config.jwksUrl)),
      api,
      routes: api && stripe && config.stripe ? [stripeWebhookRoute({ stripe, webhookSecret: config.stripe.webhookSecret, orm, service })] : [],
      readiness: redisProbe
        ? {
            redis: async () => {
              if (redisProbe.status === 'wait') await redisProbe.connect();
              return redisProbe.ping();
            },
          }
        : undefined,
      onClose: stopEvents,
    });
    registerPaymentMetrics(metrics, server.metrics.registry);
    if (config.eventsEnabled) {
      eventing = await startEventing({
        orm,
        redis: config.redisUrl,
        subgraph: config.name,
        log,
        handlers: workers ? eventHandlers : undefined,
        prefix: config.eventsPrefix,
        pollIntervalMs: config.eventsPollMs,
        concurrency: config.eventsConcurrency,
        // No batchSize: a batch runs its after-commit work one event after another, and for PaymentRequested that is a call to the provider.
        metrics: server.metrics.registry,
        tracing: server.tracing,
      });
    }
    if (workers) {
      // Charges, refunds and PaymentIntent cancellations lost to a provider outage or a stopped process are asked for again.
      chargeSweep = setInterval(
        () => {
          sweeping ??= service.retryStalled(orm.em, config.chargeRetrySeconds).finally(() => (sweeping = undefined));
        },
        Math.min(30_000, Math.max(1000, (config.chargeRetrySeconds * 1000) / 4)),
      );
      chargeSweep.unref();
    }
    return Object.assign(server, { orm, service, provider, stripe, eventHandlers, consumer: eventing?.consumer ?? null, relay: eventing?.relay ?? null });
  } catch (error) {
    await stopEvents().catch(() => undefined);
    await orm.close();
    throw error;
  }
}
