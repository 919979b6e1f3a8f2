import type { Queue } from 'bullmq';
import { createLogger } from '../../src/logger';
import type { MikroORM } from '../../src/orm';
import { testDatabaseUrl } from '../../src/testing';
import { batchedEventHandler, createEventConsumer, InboxRecord, type ConsumeOutcome, type JobOutcome, type EventConsumer, type EventEnvelope, type EventJobData } from '../../src/events';
import { Applied, cleanupRedis, completeBatchJob, envelope, nextJobEvent, openTestOrm, REDIS_URL, testPrefix, testQueue } from './fixture';

jest.setTimeout(30_000);

const BATCH = 10;
const jobOptions = (jobId: string) => ({ jobId, attempts: 1, removeOnComplete: false, removeOnFail: false });

describe('event consumer applying batches', () => {
  const database = testDatabaseUrl('events_consumer_batch');
  const prefix = testPrefix();
  const log = createLogger('events-consumer-batch-test', 'silent');
  let orm: MikroORM;
  let consumer: EventConsumer;
  let queue: Queue<EventJobData>;
  /** Per applied event: the transaction it ran in and how many `applied` rows its transaction saw before it. */
  const seen = new Map<string, { txid: string; before: number }>();
  /** What each after-commit work saw: its event's row, read on another connection. */
  const seenAfterCommit = new Map<string, number>();
  let calls = 0;
  /** Each call of the shared batch handler: the events it was handed, in order. */
  const runs: string[][] = [];
  const runOf = batchedEventHandler(async (em, envelopes) => {
    runs.push(envelopes.map((event) => event.id));
    for (const event of envelopes) em.create(Applied, { eventId: event.id, type: event.type });
    if (envelopes.some((event) => event.data.fail === true)) throw new Error('this run cannot be applied');
  });

  const appliedCount = (eventId: string) => orm.em.fork().count(Applied, { eventId });

  /** Adds `events` (job id: `jobIds[i]`, default the event id) and waits until every job finished. */
  async function deliver(events: EventEnvelope[], jobIds = events.map((event) => event.id)): Promise<Map<string, { outcome?: ConsumeOutcome; error?: string }>> {
    const results = new Map<string, { outcome?: ConsumeOutcome; error?: string }>();
    const finished = new Promise<void>((resolve) => {
      const settle = (jobId: string | undefined, result: { outcome?: ConsumeOutcome; error?: string }) => {
        if (!jobId || !jobIds.includes(jobId)) return;
        results.set(jobId, result);
        if (results.size === jobIds.length) {
          consumer.worker.off('completed', onCompleted);
          consumer.worker.off('failed', onFailed);
          resolve();
        }
      };
      const onCompleted = (job: { id?: string }, outcome: JobOutcome) => settle(job.id, { outcome: outcome as ConsumeOutcome });
      const onFailed = (job: { id?: string } | undefined, error: Error) => settle(job?.id, { error: error.message });
      consumer.worker.on('completed', onCompleted);
      consumer.worker.on('failed', onFailed);
    });
    // Paused while they are added, so the worker finds them all waiting at once.
    await consumer.worker.pause(true);
    await queue.addBulk(events.map((event, index) => ({ name: event.type, data: event, opts: jobOptions(jobIds[index]!) })));
    consumer.worker.resume();
    await finished;
    return results;
  }

  beforeAll(async () => {
    orm = await openTestOrm(database.url);
    queue = testQueue('analytics', prefix);
    consumer = createEventConsumer({
      orm,
      redis: REDIS_URL,
      subgraph: 'analytics',
      log,
      prefix,
      concurrency: BATCH,
      batchSize: BATCH,
      handlers: {
        OrderPlaced: async (em, event, hooks) => {
          calls += 1;
          const [row] = await em.execute<{ txid: string; before: string }[]>(`select txid_current()::text as "txid", (select count(*) from "applied")::text as "before"`);
          seen.set(event.id, { txid: row!.txid, before: Number(row!.before) });
          em.create(Applied, { eventId: event.id, type: event.type });
          hooks!.afterCommit(async () => {
            seenAfterCommit.set(event.id, await appliedCount(event.id));
          });
        },
        TradeOrderUpdated: runOf,
        FillExecuted: runOf,
        PaymentFailed: async (em, event) => {
          // Written before the failure, so the test also sees it rolled back.
          em.create(Applied, { eventId: event.id, type: event.type });
          await em.flush();
          throw new Error('this event cannot be applied');
        },
      },
    });
    await consumer.ready();
  });

  beforeEach(async () => {
    await orm.em.fork().nativeDelete(Applied, {});
    seen.clear();
    seenAfterCommit.clear();
    calls = 0;
    runs.length = 0;
  });

  afterAll(async () => {
    await consumer?.close();
    await queue?.close();
    await cleanupRedis(prefix, ['analytics']);
    await orm?.close(true);
    await database.drop();
  });

  it('applies the events it holds at once in shared transactions, each exactly once, each seeing the ones before it', async () => {
    const events = Array.from({ length: 40 }, () => envelope('OrderPlaced', {}, 'orders'));
    const results = await deliver(events);

    expect([...results.values()].every((result) => result.outcome === 'processed')).toBe(true);
    for (const event of events) expect(await appliedCount(event.id)).toBe(1);
    expect(await orm.em.fork().count(InboxRecord, { eventId: { $in: events.map((event) => event.id) } })).toBe(40);
    const transactions = new Set([...seen.values()].map((entry) => entry.txid));
    expect(transactions.size).toBeLessThan(40);
    // Within a transaction each handler saw the rows of those before it: no two saw the same count.
    expect(new Set([...seen.values()].map((entry) => entry.before)).size).toBe(40);
    // After-commit work ran once its batch had committed.
    expect(events.map((event) => seenAfterCommit.get(event.id))).toEqual(events.map(() => 1));
  });

  it("takes a batch job's events into its shared transactions, in the job's order, each once", async () => {
    const events = Array.from({ length: 30 }, () => envelope('OrderPlaced', {}, 'orders'));

    expect(await completeBatchJob(consumer.worker, queue, events, jobOptions)).toEqual(events.map(() => 'processed'));
    for (const event of events) expect(await appliedCount(event.id)).toBe(1);
    expect(new Set([...seen.values()].map((entry) => entry.txid)).size).toBeLessThan(30);
    // Applied in the job's order: each saw the rows of all the events before it.
    expect(events.map((event) => seen.get(event.id)!.before)).toEqual(events.map((_, index) => index));
  });

  it('fails an event that throws alone: its batch rolls back and the others are applied once on their own', async () => {
    const broken = envelope('PaymentFailed', {}, 'payments');
    const events = [...Array.from({ length: 5 }, () => envelope('OrderPlaced', {}, 'orders')), broken, ...Array.from({ length: 5 }, () => envelope('OrderPlaced', {}, 'orders'))];
    const results = await deliver(events);

    expect(results.get(broken.id)).toEqual({ error: 'this event cannot be applied' });
    expect(await appliedCount(broken.id)).toBe(0);
    for (const event of events.filter((event) => event !== broken)) {
      expect(results.get(event.id)).toEqual({ outcome: 'processed' });
      expect(await appliedCount(event.id)).toBe(1);
    }
    // The ones batched with the broken event ran twice (rolled back, then alone) and count once.
    expect(calls).toBeGreaterThan(10);
  });

  it('skips an event already applied and applies an event delivered twice in one batch once', async () => {
    const earlier = envelope('OrderPlaced', {}, 'orders');
    const done = nextJobEvent(consumer.worker, 'completed', earlier.id);
    await queue.add(earlier.type, earlier, jobOptions(earlier.id));
    await done;

    const twice = envelope('OrderPlaced', {}, 'orders');
    const fresh = envelope('OrderPlaced', {}, 'orders');
    const results = await deliver([earlier, twice, twice, fresh], [`${earlier.id}-again`, twice.id, `${twice.id}-again`, fresh.id]);

    expect(results.get(`${earlier.id}-again`)).toEqual({ outcome: 'duplicate' });
    expect([results.get(twice.id)?.outcome, results.get(`${twice.id}-again`)?.outcome].sort()).toEqual(['duplicate', 'processed']);
    expect(results.get(fresh.id)).toEqual({ outcome: 'processed' });
    for (const event of [earlier, twice, fresh]) expect(await appliedCount(event.id)).toBe(1);
  });

  it('hands events of handlers sharing a batch function to it together, each once, apart from the events of other handlers', async () => {
    const batched = () => [envelope('TradeOrderUpdated', {}, 'trading'), envelope('FillExecuted', {}, 'trading')];
    const placed = envelope('OrderPlaced', {}, 'orders');
    const events = [...Array.from({ length: 6 }, batched).flat(), placed, ...Array.from({ length: 6 }, batched).flat()];
    const results = await deliver(events);

    expect([...results.values()].every((result) => result.outcome === 'processed')).toBe(true);
    for (const event of events) expect(await appliedCount(event.id)).toBe(1);
    expect(runs.flat().sort()).toEqual(events.filter((event) => event !== placed).map((event) => event.id).sort());
    expect(runs.some((run) => run.length > 1)).toBe(true);
    expect(seen.has(placed.id)).toBe(true);
  });

  it('rolls back a run that fails and applies its events one by one, so only the failing one fails', async () => {
    const broken = envelope('FillExecuted', { fail: true }, 'trading');
    const events = [...Array.from({ length: 4 }, () => envelope('FillExecuted', {}, 'trading')), broken, ...Array.from({ length: 4 }, () => envelope('TradeOrderUpdated', {}, 'trading'))];
    const results = await deliver(events);

    expect(results.get(broken.id)).toEqual({ error: 'this run cannot be applied' });
    expect(await appliedCount(broken.id)).toBe(0);
    for (const event of events.filter((event) => event !== broken)) {
      expect(results.get(event.id)).toEqual({ outcome: 'processed' });
      expect(await appliedCount(event.id)).toBe(1);
    }
    // Every run that held the broken event rolled back: each of its events was then handed over alone.
    const failedRuns = runs.filter((run) => run.includes(broken.id));
    expect(failedRuns.at(-1)).toEqual([broken.id]);
    for (const id of failedRuns.flat()) expect(runs.filter((run) => run.length === 1 && run[0] === id)).toHaveLength(1);
  });
});
