import type { AddressInfo } from 'node:net';
import type { GraphQLSchema } from 'graphql';
import type { Redis } from 'ioredis';
import { Counter, Registry, type Metric } from 'prom-client';
import {
  createSubgraphServer,
  createTokenVerifier,
  FixedWindowRateLimiter,
  openOrm,
  remoteKeys,
  type EventHandlers,
  type Logger,
  type MikroORM,
  type SubgraphServer,
  type TokenVerifier,
} from '../../kit/src';
import { createRedisClient } from '../../kit/src/events';
import { createRedisPubSub, type RedisPubSub } from '../../kit/src/pubsub';
import { createTracing } from '../../kit/src/tracing';
import { SECRET_LOG_PATHS } from '../../kit/src/secrets';
import type { SignalsConfig } from './config';
import { IngestService } from './ingest/ingest.service';
import { IngestStore } from './ingest/ingest.store';
import { webhookRoute } from './ingest/webhook.route';
import { signalsEntities, signalsMigrations } from './mikro-orm.config';
import { OutcomeWatcher, WatchAnnouncer } from './outcome/outcome.watcher';
import { planEventHandlers } from './plan/plan.events';
import { buildSignalsSchemaWithServices } from './schema';
import { createScreenshotService, createTradingCandleSource, type ScreenshotService } from './screenshots';
import { recordScreenshotResult, signalExists, staleScreenshotRequests } from './signal/signal.screenshots';
import type { SignalService } from './signal/signal.service';
import { SignalUpdates } from './signal/signal.updates';
import { openSessionCookies, TRADINGVIEW_LOG_PATHS } from './tradingview/session.cookies';
import { resealTradingViewSessions } from './tradingview/session.keys';
import { userEventHandlers } from './user/user.events';

export interface SignalsServerDeps {
  config: SignalsConfig;
  log: Logger;
  verifyToken?: TokenVerifier;
  /**
   * Run the event consumer (PlanChanged, UserDeleted), the outcome watcher, the screenshot worker
   * (unless SCREENSHOT_WORKERS=false) and the maintenance sweep. Default `config.eventsEnabled`.
   */
  workers?: boolean;
  /**
   * Serve GraphQL and the webhook. Default true; false (`--workers-only`) serves only the chart
   * page Chromium loads (and /health, /ready, /metrics).
   */
  api?: boolean;
}

export interface SignalsServer extends SubgraphServer {
  /** The server's ORM, for tests that inspect rows. Closed by `close()`. */
  orm: MikroORM;
  schema: GraphQLSchema;
  /** The subscriptions' Redis pub/sub (also where price ticks arrive); closed by `close()`. */
  pubsub: RedisPubSub;
  updates: SignalUpdates;
  signals: SignalService;
  ingest: IngestService;
  screenshots: ScreenshotService;
  /** Judges open signals against price ticks; null with workers off (new signals are announced to the workers' watchers). */
  watcher: OutcomeWatcher | null;
  /** The handlers of the events signals consumes (PlanChanged, UserDeleted), by type; tests call them directly. */
  eventHandlers: EventHandlers;
  /** Deletes expired dedup claims and old refusals, queues screenshots left unqueued and re-seals TradingView sessions after a key rotation; the sweep runs it every minute. */
  maintain(): Promise<void>;
}

const SWEEP_MS = 60_000;

/**
 * How long after a commit the outbox relay drains: only analytics consumes signals' events, so
 * alerts of a tenth of a second share one relay transaction instead of one every 10 ms (at 1,000
 * alerts/s those small drains cost the webhook a seventh of its CPU).
 */
const RELAY_COMMIT_WAKE_MS = 100;

/** A screenshot PENDING this long is queued again (a no-op while its job exists). */
const STALE_SCREENSHOT_MS = 5 * 60_000;
const SWEEP_BATCH = 200;

function whenReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once('ready', done);
  });
}

/**
 * Builds the signals subgraph from injected dependencies; reads no environment. Opens the ORM
 * (creating and migrating the database), the Redis pub/sub and the rate limiter's connection, and
 * serves `POST /webhook/u/<token>`, the chart pages and signed screenshots next to GraphQL. With
 * workers on it also consumes PlanChanged and UserDeleted, relays its outbox, takes screenshots,
 * judges open signals against price ticks and sweeps stale state every minute.
 */
export async function createSignalsServer(deps: SignalsServerDeps): Promise<SignalsServer> {
  const { config } = deps;
  // Cookies and credentials are kept out of every log line, whatever logger was injected.
  const log = deps.log.child({}, { redact: { paths: [...SECRET_LOG_PATHS, ...TRADINGVIEW_LOG_PATHS], censor: '[redacted]' } });
  const keyring = config.secretsKeyring;
  const workers = deps.workers ?? config.eventsEnabled;
  const api = deps.api ?? true;
  const orm = await openOrm({ databaseUrl: config.databaseUrl, entities: signalsEntities, migrations: signalsMigrations, poolSize: config.databasePoolSize });
  const pubsub = createRedisPubSub({ redisUrl: config.redisUrl, prefix: config.pubsubPrefix, log });
  const connected = pubsub.ready();
  connected.catch(() => undefined);
  // No offline queue: while Redis is away the limiter fails at once (and lets the alert through) instead of waiting.
  // Auto-pipelining: the counts of all alerts arriving in one tick go to Redis in one write.
  const rateRedis = createRedisClient(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true });
  rateRedis.on('error', (error) => log.debug({ err: error }, 'rate limit redis error'));
  const limiter = new FixedWindowRateLimiter(rateRedis, config.rateLimit, log.child({ component: 'rate-limit' }), 'mercado:signals:rate:');
  const auditLimiter = new FixedWindowRateLimiter(rateRedis, { limit: config.auditRefusalsPerMinute, windowSeconds: 60 }, log.child({ component: 'audit-limit' }), 'mercado:signals:audit:');
  const updates = new SignalUpdates(pubsub, log.child({ component: 'signal-updates' }));
  let server: SubgraphServer | undefined;
  // Signals writes its events in single statements, which the relay's ORM commit hook does not see: the writers tell it.
  const eventsCommitted = () => server?.eventing?.relay.committed();
  const watcher = workers ? new OutcomeWatcher({ orm, pubsub, updates, log: log.child({ component: 'outcome-watcher' }), eventsCommitted }) : null;
  const watchList = watcher ?? new WatchAnnouncer(pubsub);
  const shots = config.screenshots;
  // Metrics of parts built before the server's registry exists; /metrics shows them too.
  const earlyMetrics = new Registry();
  const refusalsMetric = new Counter({
    name: 'signals_webhook_refusals_total',
    help: 'Webhook deliveries refused, by reason; logged="false" when the source was past its audit allowance',
    labelNames: ['reason', 'logged'] as const,
    registers: [earlyMetrics],
  });
  const endpointLookups = new Counter({
    name: 'signals_webhook_endpoint_lookups_total',
    help: 'Webhook endpoint lookups: from memory, from the database, and deliveries judged from memory on an endpoint that had changed (stale)',
    labelNames: ['result'] as const,
    registers: [earlyMetrics],
  });
  // Made before the server: screenshot jobs record spans too.
  const tracing = createTracing({ ...config.traces, serviceName: config.name });
  const screenshots = createScreenshotService({
    tracing,
    redis: config.redisUrl,
    prefix: shots.prefix,
    queueName: shots.queueName,
    concurrency: shots.concurrency,
    attempts: shots.attempts,
    backoffMs: shots.backoffMs,
    jobTimeoutMs: shots.jobTimeoutMs,
    dir: shots.dir,
    viewport: shots.viewport,
    publicBaseUrl: config.publicBaseUrl,
    urlSecret: shots.urlSecret,
    urlTtlSeconds: shots.urlTtlSeconds,
    // Chromium runs next to this process and loads the chart page from it directly.
    chartBaseUrl: () => `http://127.0.0.1:${(server?.httpServer.address() as AddressInfo | null)?.port ?? config.port}`,
    candles: createTradingCandleSource({ tradingUrl: shots.tradingUrl, timeoutMs: shots.candleTimeoutMs }),
    candleTimeoutMs: shots.candleTimeoutMs,
    onResult: async (result) => {
      await recordScreenshotResult(orm, updates, result);
      eventsCommitted();
    },
    exists: (signalId) => signalExists(orm, signalId),
    browser: shots.browser,
    // The user's own chart when the job carries their sealed session; opened only for the job's user.
    tradingView: { baseUrl: shots.tradingViewBaseUrl, openCookies: (sealed, owner) => openSessionCookies(keyring, sealed, owner.userId) },
    metrics: earlyMetrics,
    log,
  });
  const eventHandlers: EventHandlers = { ...planEventHandlers, ...userEventHandlers({ screenshots, watcher: watchList, log: log.child({ component: 'user-events' }) }) };
  let sweep: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;
  let sessionsResealed = false;

  const stopAll = async () => {
    clearInterval(sweep);
    await sweeping;
    await screenshots.close();
    await watcher?.close();
    await pubsub.close();
    await Promise.all([limiter.close(), auditLimiter.close()]);
    if (rateRedis.status === 'ready') await rateRedis.quit().catch(() => rateRedis.disconnect());
    else rateRedis.disconnect();
  };

  const maintain = async (): Promise<void> => {
    const connection = orm.em.getConnection();
    await connection.execute(`delete from "alert_dedup" where "key" in (select "key" from "alert_dedup" where "expires_at" < now() limit 10000)`);
    await connection.execute(
      `delete from "webhook_refusal" where "id" in (select "id" from "webhook_refusal" where "received_at" < now() - make_interval(days => ?) limit 10000)`,
      [config.auditRetentionDays],
    );
    for (const request of await staleScreenshotRequests(orm, STALE_SCREENSHOT_MS, SWEEP_BATCH)) await screenshots.enqueue(request);
    // After a key rotation, until every session is sealed under the current key.
    if (!sessionsResealed) sessionsResealed = await resealTradingViewSessions(orm, keyring, SWEEP_BATCH, log);
  };

  try {
    const built = await buildSignalsSchemaWithServices({
      signalsMaxPage: config.signalsMaxPage,
      maxEndpointsPerUser: config.maxEndpointsPerUser,
      publicBaseUrl: config.publicBaseUrl,
      quotas: config.quotas,
      updates,
      signedUrl: (file) => screenshots.signedUrl(file),
      watcher: watchList,
      secretsKeyring: keyring,
    });
    const ingest = new IngestService({
      orm,
      store: new IngestStore(orm, { dedupWindowSeconds: config.dedupWindowSeconds, lookups: endpointLookups }),
      config,
      updates,
      log: log.child({ component: 'webhook' }),
      rateLimit: (tokenHashHex) => limiter.hit(tokenHashHex),
      eventsCommitted,
      auditAllowance: (source) => auditLimiter.hit(source),
      refusals: refusalsMetric,
      enqueueScreenshot: (request) => screenshots.enqueue(request),
      watcher: watchList,
    });
    server = await createSubgraphServer({
      name: config.name,
      tracing,
      schema: built.schema,
      orm,
      log,
      verifyToken: deps.verifyToken ?? createTokenVerifier(remoteKeys(config.jwksUrl)),
      api,
      routes: api ? [webhookRoute({ ingest, trustedProxies: config.trustedProxies }), ...screenshots.routes] : screenshots.chartRoutes,
      events: config.eventsEnabled
        ? {
            redis: config.redisUrl,
            prefix: config.eventsPrefix,
            handlers: workers ? eventHandlers : undefined,
            concurrency: config.eventsConcurrency,
            batchSize: config.eventsBatchSize,
            pollIntervalMs: config.eventsPollMs,
            commitWakeDelayMs: RELAY_COMMIT_WAKE_MS,
          }
        : undefined,
      readiness: { redis: () => connected.then(() => pubsub.ping()) },
      health: async () => {
        const stats = await screenshots.stats();
        return {
          screenshots: {
            queued: stats.waiting + stats.prioritized + stats.delayed,
            active: stats.active,
            failed: stats.failed,
            workers: stats.workers,
            browsers: stats.browsers,
          },
        };
      },
      onClose: stopAll,
    });
    for (const metric of earlyMetrics.getMetricsAsArray()) server.metrics.registry.registerMetric(metric as unknown as Metric);
    screenshots.reportQueueDepthOn(server.metrics.registry);
    const running = Object.assign(server, {
      orm,
      schema: built.schema,
      pubsub,
      updates,
      signals: built.signals,
      ingest,
      screenshots,
      watcher,
      eventHandlers,
      maintain,
    });
    try {
      await Promise.all([connected, whenReady(rateRedis, 5_000)]);
      if (watcher) await watcher.start();
      if (workers && shots.workers) screenshots.startWorkers();
    } catch (error) {
      // close() stops everything started so far, the ORM included.
      await running.close();
      throw error;
    }
    if (workers) {
      sweep = setInterval(() => {
        sweeping = maintain().catch((error: unknown) => log.warn({ err: error }, 'signals maintenance sweep failed'));
      }, SWEEP_MS);
      sweep.unref();
    }
    return running;
  } catch (error) {
    if (!server) {
      await stopAll().catch(() => undefined);
      await orm.close();
    }
    throw error;
  }
}
