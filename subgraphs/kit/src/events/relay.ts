import { Queue, type JobsOptions, type KeepJobs } from 'bullmq';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { EventSubscriber, TransactionEventArgs } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/postgresql';
import { coalescedWake } from './coalesced-wake';
import { batchJobId, consumersOf, EVENT_BATCH_JOB, EVENT_ROUTES, envelopeFromRow, eventQueueName, type EventEnvelope, type EventJobData, type EventRoutes, type OutboxRow } from './envelope';
import { eventMetrics, type EventMetrics } from './metrics';
import { sqlQuery } from '../orm';
import { createErrorReporter, createRedisClient, type RedisTarget } from './redis';
import { OUTBOX_RETENTION_MS, schedulePruning, type RetentionOptions } from './retention';

/** Postgres channel the outbox trigger notified on (earlier migrations create the trigger). */
export const OUTBOX_CHANNEL = 'outbox';

/**
 * The statement-level NOTIFY trigger earlier migrations created on `outbox` (DropOutboxNotifyMigration
 * drops it again): a transaction that notifies holds a lock shared by every database of the cluster
 * through its commit, so notifying commits ran one at a time. Relays wake on their process's commits
 * instead (`wakeOnCommit`).
 */
export const OUTBOX_NOTIFY_DDL = [
  `create or replace function "outbox_notify"() returns trigger language plpgsql as $$ begin perform pg_notify('${OUTBOX_CHANNEL}', ''); return null; end; $$;`,
  `create trigger "outbox_notify_insert" after insert on "outbox" for each statement execute function "outbox_notify"();`,
];

export interface OutboxRelayOptions {
  orm: MikroORM;
  /** Redis URL or ioredis options. */
  redis: RedisTarget;
  /** The subgraph whose outbox this is (logs and metrics). */
  source: string;
  log: Logger;
  /** Rows claimed per transaction, and so the most events one job carries. Default 100. */
  batchSize?: number;
  /** Poll period between wake-ups: how soon rows written by other processes (replicas) go out. Default 250 ms. */
  pollIntervalMs?: number;
  /** BullMQ key prefix; must match the consumers'. Default BullMQ's (`bull`). */
  prefix?: string;
  /** Routing table. Default EVENT_ROUTES. */
  routes?: EventRoutes;
  /** Delivery attempts per job before it stays in the failed set. Default 8. */
  attempts?: number;
  /** First retry delay of the exponential backoff. Default 1000 ms. */
  backoffDelayMs?: number;
  /**
   * BullMQ's `removeOnComplete`: which completed jobs are removed. Default true, every one at once, as
   * BullMQ's production guide advises: consumers' inboxes already ignore a republished event, and
   * kept jobs cost Redis memory and work on every job.
   */
  removeOnComplete?: boolean | number | KeepJobs;
  /** Bound on each Redis command, so a publish never holds the claimed rows for long. Default 5000 ms. */
  redisCommandTimeoutMs?: number;
  /** Ceiling of the retry delay after failed batches. Default 30000 ms. */
  maxRetryDelayMs?: number;
  metrics?: Registry;
  /** Published rows are deleted after `keepMs` (default 7 days); false keeps them forever. */
  retention?: Partial<RetentionOptions> | false;
  /**
   * Drain `commitWakeDelayMs` (default 10) after any transaction of this ORM commits, a burst of
   * commits waking once: this process's writes reach the queues without a NOTIFY. Default true.
   */
  wakeOnCommit?: boolean;
  commitWakeDelayMs?: number;
}

export interface OutboxRelay {
  /** Starts polling and waking on commits. */
  start(): Promise<void>;
  /** Stops the loop, waits for the batch in flight, closes queues and connections. */
  stop(): Promise<void>;
  /** Claims and publishes one batch; returns how many outbox rows it marked published. */
  drainOnce(): Promise<number>;
  /**
   * Drains now instead of at the next poll (after the batch in flight, if any): for a writer that
   * knows it just committed events. No-op before start, after stop and while backing off.
   */
  wake(): void;
  /**
   * Tells the relay this process committed events outside an ORM transaction (a single statement,
   * which the commit hook does not see): it drains as after a commit, `commitWakeDelayMs` later,
   * one drain for a burst.
   */
  committed(): void;
}

class RedisNotReadyError extends Error {
  constructor(status: string) {
    super(`Redis is not ready (status ${status})`);
    this.name = 'RedisNotReadyError';
  }
}

/**
 * Publishes outbox rows to BullMQ: each claimed batch as one job per consuming subgraph queue, holding
 * the events that queue gets (jobId = the event id for one event, a digest of the ids for several).
 *
 * Rows are claimed from `outbox_pending` (AddOutboxPendingMigration) with `FOR UPDATE SKIP LOCKED` in a
 * transaction that also removes them there and marks them published, so replicas split the work; if
 * publishing fails the transaction rolls back and the rows are retried with backoff. A crash after
 * publishing but before commit republishes the same job ids, which BullMQ ignores while the job is
 * still queued, and consumers' inboxes ignore once it ran (a claim that also takes newer rows makes
 * a new batch job; the inboxes skip its known events).
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { orm, source } = options;
  const log = options.log.child({ component: 'outbox-relay', source });
  const batchSize = options.batchSize ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const routes = options.routes ?? EVENT_ROUTES;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
  const metrics: EventMetrics | undefined = options.metrics ? eventMetrics(options.metrics) : undefined;
  const jobOptions: JobsOptions = {
    attempts: options.attempts ?? 8,
    backoff: { type: 'exponential', delay: options.backoffDelayMs ?? 1000 },
    removeOnComplete: options.removeOnComplete ?? true,
    removeOnFail: false,
  };

  // One publishing connection shared by every queue. No offline queue: while Redis is away a
  // publish fails at once (rows stay unpublished) instead of waiting inside the DB transaction.
  const redis = createRedisClient(options.redis, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.redisCommandTimeoutMs ?? 5000,
  });
  const redisErrors = createErrorReporter(log, {}, 'redis connection error');
  redis.on('error', (error) => redisErrors.error(error));
  redis.on('ready', () => redisErrors.recovered());

  const queues = new Map<string, Queue<EventJobData>>();
  function queueFor(subgraph: string): Queue<EventJobData> {
    let queue = queues.get(subgraph);
    if (!queue) {
      const name = eventQueueName(subgraph);
      queue = new Queue<EventJobData>(name, { connection: redis, prefix: options.prefix });
      // The shared client reports connection errors already; keep queue errors at debug to avoid duplicates.
      queue.on('error', (error) => log.debug({ err: error, queue: name }, 'queue error'));
      queues.set(subgraph, queue);
    }
    return queue;
  }

  function waitForRedis(timeoutMs: number): Promise<void> {
    if (redis.status === 'ready') return Promise.resolve();
    if (redis.status === 'end') return Promise.reject(new RedisNotReadyError(redis.status));
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        redis.off('ready', onReady);
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => done();
      const timer = setTimeout(() => done(new RedisNotReadyError(redis.status)), timeoutMs);
      redis.on('ready', onReady);
    });
  }

  async function publish(envelopes: EventEnvelope[]): Promise<void> {
    const byQueue = new Map<string, EventEnvelope[]>();
    for (const envelope of envelopes) {
      const consumers = consumersOf(envelope.type, routes);
      if (consumers.length === 0) log.warn({ eventId: envelope.id, type: envelope.type }, 'event type has no consumers; marked published');
      for (const consumer of consumers) {
        const list = byQueue.get(consumer) ?? [];
        list.push(envelope);
        byQueue.set(consumer, list);
      }
    }
    await Promise.all(
      [...byQueue].map(async ([consumer, list]) => {
        const queue = queueFor(consumer);
        try {
          // An existing jobId is left as it is (BullMQ dedup).
          if (list.length === 1) await queue.add(list[0]!.type, list[0]!, { ...jobOptions, jobId: list[0]!.id });
          else await queue.add(EVENT_BATCH_JOB, { events: list }, { ...jobOptions, jobId: batchJobId(list) });
        } catch (error) {
          // A queue whose first connection was cut stays broken after Redis returns: build a fresh one next batch.
          if (queues.get(consumer) === queue) queues.delete(consumer);
          void queue.close().catch(() => undefined);
          throw error;
        }
        for (const envelope of list) metrics?.published.inc({ source, type: envelope.type, queue: queue.name });
      }),
    );
  }

  // The relay's own commits must not wake it again.
  const ownTransactions = new WeakSet<object>();

  async function drainOnce(): Promise<number> {
    // Do not hold row locks while waiting for a Redis that is not there.
    await waitForRedis(2000);
    return orm.em.fork().transactional(async (em) => {
      ownTransactions.add(em.getTransactionContext() as object);
      const rows: OutboxRow[] = await em.execute(
        `select o."id", o."type", o."version", o."occurred_at", o."source", o."subject", o."data", o."traceparent"
           from "outbox_pending" p join "outbox" o on o."id" = p."id"
          order by p."occurred_at", p."id" limit ? for update of p skip locked`,
        [batchSize],
      );
      if (rows.length === 0) return 0;
      await publish(rows.map(envelopeFromRow));
      const ids = rows.map(() => '?').join(', ');
      await em.execute(
        `with "published" as (delete from "outbox_pending" where "id" in (${ids}) returning "id")
         update "outbox" set "published_at" = now() where "id" in (select "id" from "published")`,
        rows.map((row) => row.id),
      );
      log.debug({ count: rows.length }, 'published outbox events');
      return rows.length;
    });
  }

  /** Whether any row waits, in one statement outside a transaction: most polls of a quiet outbox end here. */
  async function anyUnpublished(): Promise<boolean> {
    return (await sqlQuery(orm.em, 'select 1 from "outbox_pending" limit 1', [])).length > 0;
  }

  // ---- loop: poll, plus immediate wake-ups after commits ----
  let started = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let wakeRequested = false;
  let failures = 0;
  let backoffUntil = 0;

  /** `polled`: no commit asked for this run, so it first looks whether there is anything to claim. */
  function schedule(delayMs: number, polled: boolean): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void run(polled), delayMs);
  }

  function wake(): void {
    if (!started || stopped || Date.now() < backoffUntil) return;
    if (inFlight) wakeRequested = true;
    else schedule(0, false);
  }

  async function run(polled: boolean): Promise<void> {
    if (stopped || inFlight) return;
    let next = pollIntervalMs;
    inFlight = (async () => {
      try {
        if (!polled || (await anyUnpublished())) {
          let count: number;
          do {
            wakeRequested = false;
            count = await drainOnce();
          } while (!stopped && (count >= batchSize || wakeRequested));
        }
        if (failures > 0) log.info({ failures }, 'outbox relay recovered');
        failures = 0;
        backoffUntil = 0;
      } catch (error) {
        failures += 1;
        next = Math.min(maxRetryDelayMs, Math.max(pollIntervalMs, 100) * 2 ** Math.min(failures - 1, 16));
        backoffUntil = Date.now() + next;
        metrics?.publishErrors.inc({ source });
        const level = failures === 1 || failures % 20 === 0 ? 'warn' : 'debug';
        log[level]({ err: error, failures, retryInMs: next }, 'outbox relay batch failed; rows stay unpublished');
      }
    })();
    await inFlight;
    inFlight = undefined;
    if (wakeRequested && backoffUntil === 0) schedule(0, false);
    else schedule(next, true);
  }

  let pruning: { stop(): Promise<void> } | undefined;

  const commitWake = coalescedWake(() => wake(), options.commitWakeDelayMs ?? 10);
  if (options.wakeOnCommit ?? true) {
    const subscriber: EventSubscriber = {
      afterTransactionCommit(args: TransactionEventArgs) {
        if (started && !stopped && !(args.transaction && ownTransactions.has(args.transaction as object))) commitWake.request();
      },
    };
    orm.em.getEventManager().registerSubscriber(subscriber);
  }

  return {
    async start() {
      if (started) return;
      started = true;
      schedule(0, false);
      if (options.retention !== false) pruning = schedulePruning(orm, 'outbox', { keepMs: OUTBOX_RETENTION_MS, ...options.retention }, log);
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      commitWake.cancel();
      await pruning?.stop();
      await inFlight;
      await Promise.all([...queues.values()].map((queue) => queue.close().catch((error) => log.debug({ err: error }, 'queue close failed'))));
      queues.clear();
      await redis.quit().catch(() => redis.disconnect());
    },

    drainOnce,
    wake,
    committed() {
      if (started && !stopped) commitWake.request();
    },
  };
}
