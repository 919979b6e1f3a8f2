import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Registry } from 'prom-client';
import type { Queue } from 'bullmq';
import { createLogger } from '../../src/logger';
import { OutboxEvent, recordEvent } from '../../src/outbox';
import type { MikroORM } from '../../src/orm';
import { testDatabaseUrl } from '../../src/testing';
import { batchJobId, consumersOf, createOutboxRelay, EVENT_BATCH_JOB, envelopeFromEntity, eventsOfJob, type EventEnvelope, type EventJobData, type OutboxRelay } from '../../src/events';
import { cleanupRedis, openTestOrm, REDIS_URL, testPrefix, testQueue, Widget } from './fixture';

jest.setTimeout(30_000);

const CONSUMERS = ['orders', 'inventory', 'analytics'] as const;

describe('outbox relay', () => {
  const database = testDatabaseUrl('events_relay');
  const prefix = testPrefix();
  const log = createLogger('events-relay-test', 'silent');
  const relays: OutboxRelay[] = [];
  const queues = new Map<string, Queue<EventJobData>>();
  let orm: MikroORM;

  function relay(options: { batchSize?: number; metrics?: Registry } = {}): OutboxRelay {
    const created = createOutboxRelay({ orm, redis: REDIS_URL, source: 'catalog', log, prefix, ...options });
    relays.push(created);
    return created;
  }

  async function changeWidget(name: string, type = 'ProductChanged'): Promise<OutboxEvent> {
    return orm.em.fork().transactional(async (em) => {
      const widget = em.create(Widget, { name });
      return recordEvent(em, 'catalog', type, widget.id, { name });
    });
  }

  async function unpublished(): Promise<number> {
    return orm.em.fork().count(OutboxEvent, { publishedAt: null });
  }

  async function pending(): Promise<number> {
    const [row] = await orm.em.getConnection().execute<{ count: string }[]>('select count(*) as "count" from "outbox_pending"');
    return Number(row!.count);
  }

  /** What a crash before a claim's commit leaves of its rows: unpublished and pending again. */
  async function crashBeforeCommit(events: readonly OutboxEvent[]): Promise<void> {
    const ids = events.map((event) => event.id);
    await orm.em.fork().nativeUpdate(OutboxEvent, { id: { $in: ids } }, { publishedAt: null });
    await orm.em.getConnection().execute(`insert into "outbox_pending" ("id", "occurred_at") select "id", "occurred_at" from "outbox" where "id" in (${ids.map(() => '?').join(', ')})`, ids);
  }

  /** The ids of the events the waiting jobs of `subgraph`'s queue carry, job by job. */
  async function waitingEvents(subgraph: string): Promise<string[][]> {
    const jobs = await queues.get(subgraph)!.getJobs(['waiting'], 0, -1, true);
    return jobs.map((job) => eventsOfJob(job.data).map((event) => (event as EventEnvelope).id));
  }

  beforeAll(async () => {
    orm = await openTestOrm(database.url);
    for (const subgraph of CONSUMERS) queues.set(subgraph, testQueue(subgraph, prefix));
  });

  afterAll(async () => {
    await Promise.all(relays.map((r) => r.stop()));
    await Promise.all([...queues.values()].map((q) => q.close()));
    await cleanupRedis(prefix, CONSUMERS);
    await orm?.close(true);
    await database.drop();
  });

  it('publishes an event recorded with a state change to every consuming queue, with jobId = event id', async () => {
    const event = await changeWidget('blue');
    expect(await orm.em.fork().count(Widget, { id: event.subject })).toBe(1);

    expect(await relay().drainOnce()).toBe(1);

    expect(consumersOf('ProductChanged')).toEqual(['orders', 'analytics']);
    for (const subgraph of consumersOf('ProductChanged')) {
      const job = await queues.get(subgraph)!.getJob(event.id);
      expect(job).toBeDefined();
      expect(job!.id).toBe(event.id);
      expect(job!.name).toBe('ProductChanged');
      expect(job!.data).toEqual({
        id: event.id,
        type: 'ProductChanged',
        version: 1,
        occurredAt: event.occurredAt.toISOString(),
        source: 'catalog',
        subject: event.subject,
        data: { name: 'blue' },
      });
      expect(job!.opts).toMatchObject({ attempts: 8, backoff: { type: 'exponential' }, removeOnFail: false });
    }
    const row = await orm.em.fork().findOneOrFail(OutboxEvent, event.id);
    expect(row.publishedAt).toBeInstanceOf(Date);
    expect(await unpublished()).toBe(0);
  });

  it('writes no event when the state change rolls back', async () => {
    await expect(
      orm.em.fork().transactional(async (em) => {
        const widget = em.create(Widget, { name: 'doomed' });
        recordEvent(em, 'catalog', 'ProductChanged', widget.id, { name: 'doomed' });
        await em.flush();
        throw new Error('business rule says no');
      }),
    ).rejects.toThrow('business rule says no');

    expect(await orm.em.fork().count(Widget, { name: 'doomed' })).toBe(0);
    expect(await orm.em.fork().count(OutboxEvent, {})).toBe(1); // only the first test's event
    expect(await relay().drainOnce()).toBe(0);
  });

  it('publishes each event once when two relays drain concurrently', async () => {
    const registry = new Registry();
    const events = await Promise.all(Array.from({ length: 12 }, (_, i) => changeWidget(`w${i}`, 'OrderPlaced')));
    const waitingBefore = (await waitingEvents('inventory')).flat();

    const drainAll = async (r: OutboxRelay) => {
      let total = 0;
      for (let n = await r.drainOnce(); n > 0; n = await r.drainOnce()) total += n;
      return total;
    };
    const [a, b] = await Promise.all([drainAll(relay({ batchSize: 2, metrics: registry })), drainAll(relay({ batchSize: 2, metrics: registry }))]);

    expect(a + b).toBe(12);
    expect(await unpublished()).toBe(0);
    const published = await registry.getSingleMetric('events_published_total')!.get();
    expect(published.values.filter((v) => v.labels.type === 'OrderPlaced').reduce((sum, v) => sum + v.value, 0)).toBe(12);
    const queued = (await waitingEvents('inventory')).flat().filter((id) => !waitingBefore.includes(id));
    expect(queued.sort()).toEqual(events.map((event) => event.id).sort());
  });

  it("carries one drain's events for a queue in one job, in the order they occurred, and a lone event as a job of its own", async () => {
    const changes = [];
    for (const name of ['a', 'b', 'c']) changes.push(await changeWidget(name));
    const placed = await changeWidget('d', 'OrderPlaced');
    const jobsBefore = { orders: (await waitingEvents('orders')).length, inventory: (await waitingEvents('inventory')).length };

    expect(await relay().drainOnce()).toBe(4);

    const batch = changes.map(envelopeFromEntity);
    for (const subgraph of ['orders', 'analytics']) {
      const job = await queues.get(subgraph)!.getJob(batchJobId(batch));
      expect(job).toMatchObject({ name: EVENT_BATCH_JOB, data: { events: batch } });
      expect(job!.opts).toMatchObject({ attempts: 8, backoff: { type: 'exponential' }, removeOnFail: false });
    }
    expect((await waitingEvents('orders')).length).toBe(jobsBefore.orders + 1);
    expect((await queues.get('inventory')!.getJob(placed.id))?.data).toEqual(envelopeFromEntity(placed));
    expect((await waitingEvents('inventory')).length).toBe(jobsBefore.inventory + 1);
  });

  it('deduplicates a republish after a crash between publishing and marking published (the same job id)', async () => {
    const events = [await changeWidget('x', 'OrderPlaced'), await changeWidget('y', 'OrderPlaced')];
    const r = relay();
    expect(await r.drainOnce()).toBe(2);
    const waiting = await waitingEvents('inventory');
    expect(waiting).toContainEqual(events.map((event) => event.id));

    // The commit that marks rows published is what a crash loses: the rows come back unpublished.
    await crashBeforeCommit(events);
    expect(await r.drainOnce()).toBe(2);
    expect(await waitingEvents('inventory')).toEqual(waiting);

    // Claimed again together with a newer row, they go out in a new job: the consumer's inbox skips what it applied.
    await crashBeforeCommit(events);
    const newer = await changeWidget('z', 'OrderPlaced');
    expect(await r.drainOnce()).toBe(3);
    expect(await waitingEvents('inventory')).toEqual([...waiting, [...events, newer].map((event) => event.id)]);
    expect(await unpublished()).toBe(0);
  });

  it('skips rows another relay holds (FOR UPDATE SKIP LOCKED) and publishes them once released', async () => {
    const locked = await changeWidget('locked', 'OrderPlaced');
    const free = await changeWidget('free', 'OrderPlaced');
    const other = new Client({ connectionString: database.url });
    await other.connect();
    try {
      await other.query('begin');
      await other.query('select id from outbox_pending where id = $1 for update', [locked.id]);
      const r = relay();
      expect(await r.drainOnce()).toBe(1);
      const inventory = queues.get('inventory')!;
      expect(await inventory.getJob(free.id)).toBeDefined();
      expect(await inventory.getJob(locked.id)).toBeUndefined();
      await other.query('commit');
      expect(await r.drainOnce()).toBe(1);
      expect(await inventory.getJob(locked.id)).toBeDefined();
    } finally {
      await other.end();
    }
  });

  it('claims rows any writer inserts (one statement, several rows; not those inserted already published) and leaves none pending', async () => {
    const [first, second, done] = [randomUUID(), randomUUID(), randomUUID()];
    await orm.em.getConnection().execute(
      `insert into "outbox" ("id", "type", "version", "occurred_at", "source", "subject", "data", "published_at")
       values (?, 'OrderPlaced', 1, now() - interval '1 second', 'orders', 's', '{}', null), (?, 'OrderPlaced', 1, now(), 'orders', 's', '{}', null), (?, 'OrderPlaced', 1, now(), 'orders', 's', '{}', now())`,
      [first, second, done],
    );
    expect(await pending()).toBe(2);
    expect(await relay().drainOnce()).toBe(2);
    const inventory = queues.get('inventory')!;
    expect((await waitingEvents('inventory')).at(-1)).toEqual([first, second]);
    expect(await inventory.getJob(done)).toBeUndefined();
    expect(await pending()).toBe(0);
    expect(await unpublished()).toBe(0);
  });

  it('marks events with no consumers published without enqueuing anything', async () => {
    const event = await changeWidget('nobody', 'NobodyListens');
    expect(await relay().drainOnce()).toBe(1);
    expect((await orm.em.fork().findOneOrFail(OutboxEvent, event.id)).publishedAt).toBeInstanceOf(Date);
    for (const queue of queues.values()) expect(await queue.getJob(event.id)).toBeUndefined();
  });
});
