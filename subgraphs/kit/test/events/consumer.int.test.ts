import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import { createLogger } from '../../src/logger';
import type { MikroORM } from '../../src/orm';
import { queueJobsOnMetrics, testDatabaseUrl } from '../../src/testing';
import { batchJobId, bullConnection, createEventConsumer, EVENT_BATCH_JOB, InboxRecord, listFailed, replayFailed, type EventConsumer, type EventEnvelope, type EventJobData } from '../../src/events';
import { reportQueueDepth } from '../../src/queue-depth';
import { addBatchJob, Applied, cleanupRedis, completeBatchJob, envelope, nextJobEvent, openTestOrm, REDIS_URL, testPrefix, testQueue } from './fixture';

jest.setTimeout(30_000);

const ATTEMPTS = 3;
const CONCURRENCY = 4;
const jobOptions = (jobId: string) => ({ jobId, attempts: ATTEMPTS, backoff: { type: 'exponential', delay: 10 }, removeOnComplete: true, removeOnFail: false });

describe('event consumer', () => {
  const database = testDatabaseUrl('events_consumer');
  const prefix = testPrefix();
  const log = createLogger('events-consumer-test', 'silent');
  const registry = new Registry();
  let orm: MikroORM;
  let consumer: EventConsumer;
  let queue: Queue<EventJobData>;
  let paymentFailedBroken = true;
  let paymentFailedCalls = 0;
  let refundFailedBroken = true;
  let refundFailedCalls = 0;
  /** OrderPlaced handlers running now, and the most that ever ran at once. */
  let placedRunning = 0;
  let placedPeak = 0;
  /** What StockReserved's after-commit work saw: its event's row, read on another connection. */
  const seenAfterCommit: number[] = [];

  async function appliedCount(eventId: string): Promise<number> {
    return orm.em.fork().count(Applied, { eventId });
  }

  async function metric(name: string, type: string): Promise<number> {
    const values = (await registry.getSingleMetric(name)!.get()).values;
    return values.filter((v) => v.labels.type === type).reduce((sum, v) => sum + v.value, 0);
  }

  beforeAll(async () => {
    orm = await openTestOrm(database.url);
    queue = testQueue('orders', prefix);
    consumer = createEventConsumer({
      orm,
      redis: REDIS_URL,
      subgraph: 'orders',
      log,
      prefix,
      metrics: registry,
      concurrency: CONCURRENCY,
      handlers: {
        ProductChanged: async (em, event) => {
          em.create(Applied, { eventId: event.id, type: event.type });
        },
        StockReserved: async (em, event, hooks) => {
          em.create(Applied, { eventId: event.id, type: event.type });
          hooks!.afterCommit(async () => {
            seenAfterCommit.push(await appliedCount(event.id));
          });
        },
        PaymentFailed: async (em, event) => {
          paymentFailedCalls += 1;
          // The effect is written before the failure, so the test also sees the rollback.
          em.create(Applied, { eventId: event.id, type: event.type });
          await em.flush();
          if (paymentFailedBroken) throw new Error('payments handler is broken');
        },
        OrderPlaced: async (em, event) => {
          placedRunning += 1;
          placedPeak = Math.max(placedPeak, placedRunning);
          try {
            await em.execute('select 1');
            em.create(Applied, { eventId: event.id, type: event.type });
            await em.flush();
          } finally {
            placedRunning -= 1;
          }
        },
        RefundFailed: async (em, event) => {
          refundFailedCalls += 1;
          em.create(Applied, { eventId: event.id, type: event.type });
          await em.flush();
          if (refundFailedBroken) throw new Error('refunds handler is broken');
        },
      },
    });
    await consumer.ready();
  });

  afterAll(async () => {
    await consumer?.close();
    await queue?.close();
    await cleanupRedis(prefix, ['orders']);
    await orm?.close(true);
    await database.drop();
  });

  it('runs after-commit work once the effect is visible, and not again for a redelivery', async () => {
    const event = envelope('StockReserved', { orderId: 'o-1' }, 'inventory');
    const first = nextJobEvent(consumer.worker, 'completed', event.id);
    await queue.add(event.type, event, jobOptions(event.id));
    await first;
    const again = nextJobEvent(consumer.worker, 'completed', `${event.id}-again`);
    await queue.add(event.type, event, jobOptions(`${event.id}-again`));
    expect((await again).result).toBe('duplicate');
    expect(seenAfterCommit).toEqual([1]);
  });

  it('applies an event delivered twice (same envelope, another job id) only once', async () => {
    const event = envelope('ProductChanged', { name: 'red' }, 'catalog');
    const first = nextJobEvent(consumer.worker, 'completed', event.id);
    const second = nextJobEvent(consumer.worker, 'completed', `${event.id}-redelivered`);

    await queue.add(event.type, event, jobOptions(event.id));
    await queue.add(event.type, event, jobOptions(`${event.id}-redelivered`));
    const results = [(await first).result, (await second).result];

    expect(results.sort()).toEqual(['duplicate', 'processed']);
    expect(await appliedCount(event.id)).toBe(1);
    const inbox = await orm.em.fork().findOneOrFail(InboxRecord, { eventId: event.id });
    expect(inbox).toMatchObject({ type: 'ProductChanged', source: 'catalog' });
    expect(await metric('events_consumed_total', 'ProductChanged')).toBe(1);
    expect(await metric('events_duplicates_skipped_total', 'ProductChanged')).toBe(1);
  });

  it('acknowledges event types it has no handler for', async () => {
    const event = envelope('SomethingNew');
    const done = nextJobEvent(consumer.worker, 'completed', event.id);
    await queue.add(event.type, event, jobOptions(event.id));

    expect((await done).result).toBe('ignored');
    expect(await orm.em.fork().count(InboxRecord, { eventId: event.id })).toBe(0);
    expect(await queue.getJobState(event.id)).not.toBe('failed');
  });

  it('retries a throwing handler, leaves the job in the failed set, and replays it once fixed', async () => {
    const event = envelope('PaymentFailed', { orderId: 'o-1' }, 'payments');
    const exhausted = nextJobEvent(consumer.worker, 'failed', (job) => job.id === event.id && job.attemptsMade >= ATTEMPTS);
    await queue.add(event.type, event, jobOptions(event.id));
    const { job, result: error } = await exhausted;

    expect(job.attemptsMade).toBe(ATTEMPTS);
    expect((error as Error).message).toBe('payments handler is broken');
    expect(paymentFailedCalls).toBe(ATTEMPTS);
    expect(await queue.getJobState(event.id)).toBe('failed');
    expect(await appliedCount(event.id)).toBe(0); // each attempt rolled back, inbox row included
    expect(await orm.em.fork().count(InboxRecord, { eventId: event.id })).toBe(0);
    expect(await metric('events_failed_total', 'PaymentFailed')).toBe(ATTEMPTS);

    const failed = await listFailed(REDIS_URL, 'orders', { prefix });
    expect(failed).toEqual([
      expect.objectContaining({ jobId: event.id, envelope: event, attemptsMade: ATTEMPTS, failedReason: 'payments handler is broken' }),
    ]);

    paymentFailedBroken = false;
    const replayed = nextJobEvent(consumer.worker, 'completed', event.id);
    expect(await replayFailed(REDIS_URL, 'orders', { prefix, limit: 10 })).toEqual({ replayed: [event.id], errors: [] });

    expect((await replayed).result).toBe('processed');
    expect(paymentFailedCalls).toBe(ATTEMPTS + 1);
    expect(await appliedCount(event.id)).toBe(1);
    expect(await listFailed(REDIS_URL, 'orders', { prefix })).toEqual([]);
  });

  it('applies the events of a batch job each once, skipping one already applied, and answers their outcomes in order', async () => {
    const earlier = envelope('ProductChanged', { name: 'earlier' }, 'catalog');
    const first = nextJobEvent(consumer.worker, 'completed', earlier.id);
    await queue.add(earlier.type, earlier, jobOptions(earlier.id));
    await first;

    const events = [earlier, envelope('ProductChanged', { name: 'next' }, 'catalog'), envelope('SomethingNew'), envelope('StockReserved', { orderId: 'o-2' }, 'inventory')];

    expect(await completeBatchJob(consumer.worker, queue, events, jobOptions)).toEqual(['duplicate', 'processed', 'ignored', 'processed']);
    for (const event of [earlier, events[1]!, events[3]!]) expect(await appliedCount(event.id)).toBe(1);
    expect(await orm.em.fork().count(InboxRecord, { eventId: { $in: events.map((event) => event.id) } })).toBe(3);
  });

  it("applies a batch job's events side by side, never more at once than its concurrency (one connection each)", async () => {
    const events = Array.from({ length: 40 }, () => envelope('OrderPlaced', {}, 'orders'));

    expect(await completeBatchJob(consumer.worker, queue, events, jobOptions)).toEqual(events.map(() => 'processed'));
    for (const event of events) expect(await appliedCount(event.id)).toBe(1);
    expect(placedPeak).toBeGreaterThan(1);
    expect(placedPeak).toBeLessThanOrEqual(CONCURRENCY);
  });

  it('keeps only the failing events of a batch job, so its retries, the failed set and a replay hold just them', async () => {
    const before = envelope('ProductChanged', { name: 'before' }, 'catalog');
    const broken = envelope('RefundFailed', { orderId: 'o-3' }, 'payments');
    const after = envelope('ProductChanged', { name: 'after' }, 'catalog');
    const jobId = batchJobId([before, broken, after]);
    const firstAttempt = nextJobEvent(consumer.worker, 'failed', jobId);
    const exhausted = nextJobEvent(consumer.worker, 'failed', (job) => job.id === jobId && job.attemptsMade >= ATTEMPTS);
    await addBatchJob(queue, [before, broken, after], jobOptions);
    expect(((await firstAttempt).result as Error).message).toBe(`1 of 3 events failed: ${broken.id}: refunds handler is broken`);
    const { job, result: error } = await exhausted;

    expect((error as Error).message).toBe(`1 of 1 events failed: ${broken.id}: refunds handler is broken`);
    expect(job.data).toEqual({ events: [broken] });
    expect(refundFailedCalls).toBe(ATTEMPTS);
    expect(await appliedCount(before.id)).toBe(1);
    expect(await appliedCount(after.id)).toBe(1);
    expect(await appliedCount(broken.id)).toBe(0);
    expect(await metric('events_failed_total', 'RefundFailed')).toBe(ATTEMPTS);
    expect(await listFailed(REDIS_URL, 'orders', { prefix })).toEqual([expect.objectContaining({ jobId, envelope: broken, attemptsMade: ATTEMPTS })]);

    refundFailedBroken = false;
    const replayed = nextJobEvent(consumer.worker, 'completed', jobId);
    expect(await replayFailed(REDIS_URL, 'orders', { prefix })).toEqual({ replayed: [jobId], errors: [] });
    expect((await replayed).result).toEqual(['processed']);
    expect(await appliedCount(broken.id)).toBe(1);
    expect(await listFailed(REDIS_URL, 'orders', { prefix })).toEqual([]);
  });

  it('fails a malformed envelope at once, without retries', async () => {
    const jobId = 'malformed-1';
    const failed = nextJobEvent(consumer.worker, 'failed', jobId);
    await queue.add('Broken', { nope: true } as unknown as EventEnvelope, jobOptions(jobId));

    const { job } = await failed;
    expect(job.attemptsMade).toBe(1);
    expect(await queue.getJobState(jobId)).toBe('failed');
  });

  /** `bullmq_queue_jobs` of events-orders, per state, as a scrape of /metrics shows them. */
  const depth = (from: Registry = registry) => queueJobsOnMetrics(from, 'events-orders');

  it('reports its queue\'s jobs by state on /metrics: the backlog while it is paused, and the failed set', async () => {
    // The malformed envelope above is in the failed set.
    expect(await depth()).toEqual({ waiting: 0, prioritized: 0, active: 0, delayed: 0, failed: 1 });
    await consumer.worker.pause();
    const events = [1, 2, 3].map((index) => envelope('ProductChanged', { productId: `p-${index}` }, 'catalog'));
    for (const event of events) await queue.add(event.type, event, jobOptions(event.id));
    expect(await depth()).toEqual({ waiting: 3, prioritized: 0, active: 0, delayed: 0, failed: 1 });

    const done = Promise.all(events.map((event) => nextJobEvent(consumer.worker, 'completed', event.id)));
    consumer.worker.resume();
    await done;
    expect(await depth()).toEqual({ waiting: 0, prioritized: 0, active: 0, delayed: 0, failed: 1 });
  });

  it('still answers a scrape when Redis does not, without figures for the queue', async () => {
    const away = new Registry();
    const unreachable = new Queue<EventJobData>('events-orders', { connection: bullConnection('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => null }), prefix });
    unreachable.on('error', () => undefined);
    const stop = reportQueueDepth(away, unreachable);
    try {
      expect(await depth(away)).toEqual({});
      expect(await away.metrics()).toContain('# TYPE bullmq_queue_jobs gauge');
    } finally {
      stop();
      await unreachable.close();
    }
  });

  it('applies the sound events of a batch job holding a malformed one, and fails the job with just that one at once', async () => {
    const sound = envelope('ProductChanged', { name: 'sound' }, 'catalog');
    const malformed = { nope: true } as unknown as EventEnvelope;
    // No digest of the ids: one event has none.
    const jobId = 'malformed-batch';
    const failed = nextJobEvent(consumer.worker, 'failed', jobId);
    await queue.add(EVENT_BATCH_JOB, { events: [sound, malformed] }, jobOptions(jobId));

    const { job, result: error } = await failed;
    expect(job.attemptsMade).toBe(1);
    expect((error as Error).message).toBe('1 of 2 events failed: malformed: malformed event envelope');
    expect(job.data).toEqual({ events: [malformed] });
    expect(await appliedCount(sound.id)).toBe(1);
  });
});
