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
    // No LISTEN and a poll far longer than the test's timeout: only wake() can deliver in time.
    relay = createOutboxRelay({ orm, redis: REDIS_URL, source: 'orders', log, prefix, listen: false, pollIntervalMs: 60_000 });
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
