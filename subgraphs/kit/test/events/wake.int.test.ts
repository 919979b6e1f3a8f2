import { randomUUID } from 'node:crypto';
import { createLogger } from '../../src/logger';
import { OutboxEvent, recordEvent } from '../../src/outbox';
import type { MikroORM } from '../../src/orm';
import { testDatabaseUrl } from '../../src/testing';
import { createEventConsumer, createOutboxRelay, type EventConsumer, type OutboxRelay } from '../../src/events';
import { Applied, cleanupRedis, nextJobEvent, openTestOrm, REDIS_URL, testPrefix, Widget } from './fixture';

jest.setTimeout(30_000);

/** `relay.wake()`: a writer that does not rely on NOTIFY tells its relay it committed events. */
describe('outbox relay woken by its writer', () => {
  const database = testDatabaseUrl('events_wake');
  const prefix = testPrefix();
  const log = createLogger('events-wake-test', 'silent');
  let orm: MikroORM;
  let relay: OutboxRelay;
  let consumer: EventConsumer;

  async function placeOrder(name: string): Promise<OutboxEvent> {
    return orm.em.fork().transactional(async (em) => {
      const widget = em.create(Widget, { name });
      return recordEvent(em, 'orders', 'OrderPlaced', widget.id, { name });
    });
  }

  beforeAll(async () => {
    orm = await openTestOrm(database.url);
    consumer = createEventConsumer({
      orm,
      redis: REDIS_URL,
      subgraph: 'inventory',
      log,
      prefix,
      handlers: { OrderPlaced: async (em, event) => void em.create(Applied, { eventId: event.id, type: event.type }) },
    });
    await consumer.ready();
    // No LISTEN, no wake on commit and a poll far longer than the test's timeout: only wake() can deliver in time.
    relay = createOutboxRelay({ orm, redis: REDIS_URL, source: 'orders', log, prefix, pollIntervalMs: 60_000, wakeOnCommit: false });
  });

  afterAll(async () => {
    await relay?.stop();
    await consumer?.close();
    await cleanupRedis(prefix, ['inventory']);
    await orm?.close(true);
    await database.drop();
  });

  it('drains what was committed each time it is woken', async () => {
    const early = await placeOrder('early');
    const consumedEarly = nextJobEvent(consumer.worker, 'completed', (job) => job.id === early.id);
    // start() drains once.
    await relay.start();
    await consumedEarly;
    for (const name of ['second', 'third']) {
      const event = await placeOrder(name);
      const consumed = nextJobEvent(consumer.worker, 'completed', (job) => job.id === event.id);
      relay.wake();
      await consumed;
      expect(await orm.em.fork().count(Applied, { eventId: event.id })).toBe(1);
    }
    expect(await orm.em.fork().count(OutboxEvent, { publishedAt: null })).toBe(0);
  });
});

/** `wakeOnCommit`: any commit of the relay's ORM wakes it, so the writing process needs no NOTIFY and no call. */
describe('outbox relay woken by commits', () => {
  const database = testDatabaseUrl('events_commit_wake');
  const prefix = testPrefix();
  const log = createLogger('events-commit-wake-test', 'silent');
  let orm: MikroORM;
  let relay: OutboxRelay;
  let consumer: EventConsumer;

  beforeAll(async () => {
    orm = await openTestOrm(database.url);
    consumer = createEventConsumer({
      orm,
      redis: REDIS_URL,
      subgraph: 'inventory',
      log,
      prefix,
      handlers: { OrderPlaced: async (em, event) => void em.create(Applied, { eventId: event.id, type: event.type }) },
    });
    await consumer.ready();
    // A poll far longer than the test's timeout: only the commits can deliver in time.
    relay = createOutboxRelay({ orm, redis: REDIS_URL, source: 'orders', log, prefix, pollIntervalMs: 60_000 });
    await relay.start();
  });

  afterAll(async () => {
    await relay?.stop();
    await consumer?.close();
    await cleanupRedis(prefix, ['inventory']);
    await orm?.close(true);
    await database.drop();
  });

  it('publishes each committed event without NOTIFY, poll or wake()', async () => {
    for (const name of ['first', 'second', 'third']) {
      const id = randomUUID();
      const consumed = nextJobEvent(consumer.worker, 'completed', (job) => job.id === id);
      await orm.em.fork().transactional(async (em) => {
        em.create(Widget, { name });
        recordEvent(em, 'orders', 'OrderPlaced', id, { name }).id = id;
      });
      await consumed;
      expect(await orm.em.fork().count(Applied, { eventId: id })).toBe(1);
    }
    expect(await orm.em.fork().count(OutboxEvent, { publishedAt: null })).toBe(0);
  });

  it('publishes nothing from a rolled-back transaction', async () => {
    const id = randomUUID();
    await expect(
      orm.em.fork().transactional(async (em) => {
        recordEvent(em, 'orders', 'OrderPlaced', id, { name: 'never' }).id = id;
        await em.flush();
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    // A later commit wakes the relay; the aborted event was never there to publish.
    const laterId = randomUUID();
    const consumed = nextJobEvent(consumer.worker, 'completed', (job) => job.id === laterId);
    await orm.em.fork().transactional(async (em) => void (recordEvent(em, 'orders', 'OrderPlaced', laterId, {}).id = laterId));
    await consumed;
    expect(await orm.em.fork().count(Applied, { eventId: id })).toBe(0);
    expect(await orm.em.fork().count(OutboxEvent, { id })).toBe(0);
  });
});
