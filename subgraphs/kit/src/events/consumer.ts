import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { sqlQuery } from '../orm';
import { createBatcher } from '../batcher';
import { inJobSpan, inSpan, type SpanIds, type Tracing } from '../tracing';
import { eventQueueName, eventsOfJob, isEventBatch, isEventEnvelope, type EventEnvelope, type EventJobData } from './envelope';
import { reportQueueDepth } from '../queue-depth';
import { eventMetrics } from './metrics';
import { bullConnection, createErrorReporter, type RedisTarget } from './redis';
import { INBOX_RETENTION_MS, pruneEventTable, pruneFailedJobs, schedulePeriodicPrune, type RetentionOptions } from './retention';

/**
 * Applies one event. `em` is inside the transaction that also records the event in the inbox:
 * write through it (persist or queries) and let the transaction commit; throw to retry later
 * (throw bullmq's UnrecoverableError to fail at once without retries).
 */
/** What a handler may ask of the consumer besides its transaction. */
export interface EventHandlerHooks {
  /**
   * Runs `work` once the handler's transaction has committed (e.g. scheduling a delayed job), so no
   * lock is held across a call to another system. It runs at most once: a failure is logged, and the
   * caller needs a backstop (such as a sweep) for work that must happen.
   */
  afterCommit(work: () => Promise<void>): void;
}

/**
 * Applies consecutive events in one call, so their writes can be set-based (one statement for many
 * events). They come in the order they arrived, and may be of every type whose handler shares this
 * same function; throwing fails them all, and the consumer then applies each on its own.
 */
export type EventBatchHandler = (em: EntityManager, envelopes: readonly EventEnvelope[], hooks?: EventHandlerHooks) => Promise<void>;

export type EventHandler<E extends EventEnvelope = EventEnvelope> = ((em: EntityManager, envelope: E, hooks?: EventHandlerHooks) => Promise<void>) & {
  /** Set by `batchedEventHandler`: the consumer's batches hand it runs of events instead of one at a time. */
  readonly batch?: EventBatchHandler;
};
export type EventHandlers = Readonly<Record<string, EventHandler>>;

/** A handler that takes one event as a run of one, and the consumer's batches as runs (see `EventBatchHandler`). */
export function batchedEventHandler(batch: EventBatchHandler): EventHandler {
  return Object.assign((em: EntityManager, envelope: EventEnvelope, hooks?: EventHandlerHooks) => batch(em, [envelope], hooks), { batch });
}

/** What processing an event did. */
export type ConsumeOutcome = 'processed' | 'duplicate' | 'ignored';
/** A job's return value: its event's outcome, or a batch job's outcomes in the order of its events. */
export type JobOutcome = ConsumeOutcome | ConsumeOutcome[];

/** Runs at most `max` works at once; the others wait their turn in order. */
function slots(max: number): <T>(work: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (work) => {
    if (active < max) active += 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next in line, so no newcomer slips in between.
      const next = waiting.shift();
      if (next) next();
      else active -= 1;
    }
  };
}

export interface EventConsumerOptions {
  orm: MikroORM;
  /** Redis URL or ioredis options. */
  redis: RedisTarget;
  /** The consuming subgraph; the worker reads queue `events-<subgraph>`. */
  subgraph: string;
  log: Logger;
  handlers: EventHandlers;
  /** Each event a CONSUMER span in the trace of the request that wrote it (see `Tracing`). */
  tracing?: Tracing;
  /** Jobs processed at once. Default 10. */
  concurrency?: number;
  /** BullMQ key prefix; must match the relay's. Default BullMQ's (`bull`). */
  prefix?: string;
  /** Start fetching jobs at once. Default true. */
  autorun?: boolean;
  metrics?: Registry;
  /**
   * Inbox rows, and jobs that failed for good, are deleted after `keepMs` (default 30 days, far
   * beyond any redelivery, and time enough to inspect and replay a failure); false keeps them.
   */
  retention?: Partial<RetentionOptions> | false;
  /**
   * Events applied in one transaction when the worker holds several at once (group commit): one
   * inbox statement and one commit for up to `batchSize` of them, one batch at a time; the worker
   * then holds at least `batchSize` jobs. Only for handlers that do nothing but database work: a
   * slow call would hold its whole batch. Default 1.
   */
  batchSize?: number;
}

export interface EventConsumer {
  worker: Worker<EventJobData, JobOutcome>;
  /** Resolves when the worker's Redis connections are ready. */
  ready(): Promise<void>;
  /** Waits for jobs in progress, then closes the worker's connections. */
  close(): Promise<void>;
}

/**
 * A BullMQ worker on `events-<subgraph>` that applies each event at most once: the inbox insert
 * (`on conflict do nothing`) and the handler run in one transaction, so a redelivered event
 * finds its inbox row and is skipped, and a failed handler leaves no inbox row behind.
 */
export function createEventConsumer(options: EventConsumerOptions): EventConsumer {
  const { orm, subgraph, handlers } = options;
  const queueName = eventQueueName(subgraph);
  const log = options.log.child({ component: 'event-consumer', subgraph, queue: queueName });
  const metrics = options.metrics ? eventMetrics(options.metrics) : undefined;

  interface Pending {
    envelope: EventEnvelope;
    handler: EventHandler;
    /** The events the handler records carry it as their `traceparent`. */
    span: SpanIds | null;
  }
  interface AfterCommit {
    envelope: EventEnvelope;
    work: () => Promise<void>;
  }

  /** One event in its own transaction with its inbox row. */
  async function applyOne(pending: Pending): Promise<ConsumeOutcome> {
    const { envelope } = pending;
    const afterCommit: AfterCommit[] = [];
    const outcome = await orm.em.fork().transactional(async (em): Promise<ConsumeOutcome> => {
      afterCommit.length = 0;
      const inserted = await sqlQuery(
        em,
        `insert into "inbox" ("event_id", "type", "source", "processed_at") values ($1, $2, $3, now()) on conflict ("event_id") do nothing returning "event_id"`,
        [envelope.id, envelope.type, envelope.source],
      );
      if (inserted.length === 0) return 'duplicate';
      await runHandler(em, [pending], afterCommit);
      return 'processed';
    });
    await runAfterCommit(afterCommit);
    return outcome;
  }

  /**
   * Several events in one transaction, in the order they arrived. If any of them fails the batch
   * rolls back and each event is applied on its own, so a failing event fails alone and the others
   * lose only the retry.
   */
  async function applyBatch(batch: readonly Pending[]): Promise<(ConsumeOutcome | Error)[]> {
    if (batch.length === 1) return [await applyOne(batch[0]!).catch((error: Error) => error)];
    const afterCommit: AfterCommit[] = [];
    let outcomes: ConsumeOutcome[];
    try {
      outcomes = await orm.em.fork().transactional(async (em) => {
        afterCommit.length = 0;
        const inserted = await sqlQuery<{ event_id: string }>(
          em,
          `insert into "inbox" ("event_id", "type", "source", "processed_at")
           select "v"."id", "v"."type", "v"."source", now() from unnest($1::uuid[], $2::varchar[], $3::varchar[]) as "v"("id", "type", "source")
           on conflict ("event_id") do nothing returning "event_id"`,
          [batch.map(({ envelope }) => envelope.id), batch.map(({ envelope }) => envelope.type), batch.map(({ envelope }) => envelope.source)],
        );
        const fresh = new Set(inserted.map((row) => row.event_id));
        // `delete`: an event twice in one batch is applied once.
        const result = batch.map(({ envelope }): ConsumeOutcome => (fresh.delete(envelope.id) ? 'processed' : 'duplicate'));
        const applied = batch.filter((_, index) => result[index] === 'processed');
        for (let start = 0; start < applied.length; ) {
          const first = applied[start]!;
          let end = start + 1;
          if (first.handler.batch) while (end < applied.length && applied[end]!.handler.batch === first.handler.batch) end += 1;
          await runHandler(em, applied.slice(start, end), afterCommit);
          // Each handler sees the writes of the ones before it, and none of their managed entities.
          await em.flush();
          em.clear();
          start = end;
        }
        return result;
      });
    } catch (error) {
      log.debug({ err: error, size: batch.length }, 'event batch failed; applying its events one by one');
      return Promise.all(batch.map((pending) => applyOne(pending).catch((failure: Error) => failure)));
    }
    await runAfterCommit(afterCommit);
    return outcomes;
  }

  /**
   * Runs a handler on one event, or a batch handler on a run of them, and later its after-commit
   * work, in the span of the (first) event: the events it records carry that span as their `traceparent`.
   */
  function runHandler(em: EntityManager, run: readonly Pending[], afterCommit: AfterCommit[]): Promise<void> {
    const [{ envelope, handler, span }] = run as [Pending];
    const within = <T>(work: () => T): T => (span ? inSpan(span, work) : work());
    const hooks: EventHandlerHooks = { afterCommit: (work) => afterCommit.push({ envelope, work: () => within(work) }) };
    return within(() =>
      run.length === 1
        ? handler(em, envelope, hooks)
        : handler.batch!(
            em,
            run.map((pending) => pending.envelope),
            hooks,
          ),
    );
  }

  async function runAfterCommit(queued: readonly AfterCommit[]): Promise<void> {
    for (const { envelope, work } of queued) {
      await work().catch((error: unknown) => log.error({ err: error, eventId: envelope.id, type: envelope.type }, 'after-commit work failed'));
    }
  }

  const batchSize = options.batchSize ?? 1;
  const concurrency = options.concurrency ?? 10;
  const batcher = batchSize > 1 ? createBatcher<Pending, ConsumeOutcome>(applyBatch, { maxBatchSize: batchSize, maxInFlight: 1 }) : null;
  // Without a batcher each event takes a connection: events of batch jobs and single jobs share `concurrency` of them.
  const inSlot = batcher ? null : slots(concurrency);

  /** One event, in its own CONSUMER span in the trace of the request that wrote it. */
  async function processEvent(envelope: EventEnvelope, jobId: string | undefined): Promise<ConsumeOutcome> {
    const handler = Object.prototype.hasOwnProperty.call(handlers, envelope.type) ? handlers[envelope.type] : undefined;
    if (!handler) {
      log.warn({ eventId: envelope.id, type: envelope.type, source: envelope.source }, 'no handler for event type; acknowledged');
      return 'ignored';
    }
    const outcome = await inJobSpan(
      options.tracing,
      `process ${envelope.type}`,
      { id: envelope.id, queueName, data: envelope },
      (span) => (batcher ? batcher.load({ envelope, handler, span }) : inSlot!(() => applyOne({ envelope, handler, span }))),
      { attributes: { 'mercado.event.source': envelope.source }, outcome: (result) => ({ 'mercado.event.outcome': result }) },
    );
    if (outcome === 'duplicate') {
      metrics?.duplicates.inc({ subgraph, type: envelope.type });
      log.debug({ eventId: envelope.id, type: envelope.type, jobId }, 'event already processed; skipped');
    } else {
      metrics?.consumed.inc({ subgraph, type: envelope.type });
    }
    return outcome;
  }

  function checked(event: unknown, jobId: string | undefined): EventEnvelope {
    if (isEventEnvelope(event)) return event;
    log.error({ jobId, data: event }, 'malformed event envelope');
    throw new UnrecoverableError('malformed event envelope');
  }

  /**
   * A batch job's events, each on its own as if it came alone. If some fail, the job keeps only
   * those and fails: its retries, the failed set and a replay then hold just the events still to apply.
   */
  async function processBatchJob(job: Job<EventJobData, JobOutcome>, events: readonly unknown[]): Promise<ConsumeOutcome[]> {
    const settled = await Promise.allSettled(events.map(async (event) => processEvent(checked(event, job.id), job.id)));
    const failed = settled.flatMap((result, index) => (result.status === 'rejected' ? [{ event: events[index], error: result.reason as unknown }] : []));
    if (failed.length === 0) return settled.map((result) => (result as PromiseFulfilledResult<ConsumeOutcome>).value);
    await job.updateData({ events: failed.map(({ event }) => event as EventEnvelope) });
    const reasons = failed.map(({ event, error }) => `${isEventEnvelope(event) ? event.id : 'malformed'}: ${error instanceof Error ? error.message : String(error)}`);
    const message = `${failed.length} of ${events.length} events failed: ${reasons.join('; ')}`;
    throw failed.every(({ error }) => error instanceof UnrecoverableError) ? new UnrecoverableError(message) : new Error(message);
  }

  // async: a malformed envelope then rejects the job's promise instead of throwing at BullMQ.
  async function processJob(job: Job<EventJobData, JobOutcome>): Promise<JobOutcome> {
    if (isEventBatch(job.data)) return processBatchJob(job, job.data.events);
    return processEvent(checked(job.data, job.id), job.id);
  }

  const worker = new Worker<EventJobData, JobOutcome>(queueName, processJob, {
    // Options rather than a client: the worker owns its (blocking) connections and reconnects them.
    connection: bullConnection(options.redis, { maxRetriesPerRequest: null }),
    prefix: options.prefix,
    concurrency: Math.max(concurrency, batchSize),
    autorun: options.autorun ?? true,
    // Handlers are short transactions: a job orphaned by a Redis or process crash is taken back
    // within seconds rather than BullMQ's default minute (the lock is renewed while a job runs).
    lockDuration: 10_000,
    stalledInterval: 5_000,
  });
  const redisErrors = createErrorReporter(log, {}, 'event worker error');
  worker.on('error', (error) => redisErrors.error(error));
  worker.on('ready', () => redisErrors.recovered());
  worker.on('failed', (job, error) => {
    const events = job ? eventsOfJob(job.data).map((event) => (isEventEnvelope(event) ? event : undefined)) : [];
    for (const event of events) metrics?.failed.inc({ subgraph, type: event?.type ?? 'unknown' });
    const attempts = job?.opts.attempts ?? 1;
    const final = !job || job.attemptsMade >= attempts || error instanceof UnrecoverableError;
    const context = { err: error, jobId: job?.id, eventIds: events.map((event) => event?.id), types: events.map((event) => event?.type), attemptsMade: job?.attemptsMade, attempts };
    if (final) log.error(context, 'event handler failed; job left in the failed set');
    else log.warn(context, 'event handler failed; will retry');
  });
  worker.on('stalled', (jobId) => log.warn({ jobId }, 'event job stalled; it will be processed again'));

  const { retention } = options;
  // Its own connection, failing fast while Redis is away, so a scrape or a prune never waits on the worker's reconnects.
  const adminQueue =
    options.metrics || retention !== false
      ? new Queue(queueName, { connection: bullConnection(options.redis, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }), prefix: options.prefix })
      : undefined;
  adminQueue?.on('error', (error) => redisErrors.error(error));
  const stopReporting = options.metrics && adminQueue ? reportQueueDepth(options.metrics, adminQueue) : undefined;
  const keepMs = (retention === false ? undefined : retention?.keepMs) ?? INBOX_RETENTION_MS;
  const pruning =
    retention === false || !adminQueue
      ? undefined
      : schedulePeriodicPrune(
          async () => (await pruneEventTable(orm, 'inbox', keepMs, retention?.batchSize)) + (await pruneFailedJobs(adminQueue, keepMs)),
          `inbox and failed jobs of ${queueName}`,
          retention?.intervalMs,
          log,
        );

  return {
    worker,
    async ready() {
      await worker.waitUntilReady();
    },
    async close() {
      stopReporting?.();
      await pruning?.stop();
      await worker.close();
      await adminQueue?.close();
    },
  };
}
