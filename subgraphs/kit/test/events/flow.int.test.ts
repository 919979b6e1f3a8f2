import { createLogger } from '../../src/logger';
import { OutboxEvent, recordEvent } from '../../src/outbox';
import type { MikroORM } from '../../src/orm';
import { testDatabaseUrl } from '../../src/testing';
import { createEventConsumer, createOutboxRelay, type EventConsumer, type EventEnvelope, type OutboxRelay } from '../../src/events';
import { Applied, cleanupRedis, nextJobEvent, openTestOrm, REDIS_URL, testPrefix, Widget } from './fixture';

jest.setTimeout(30_000);

describe('outbox → relay → queue → consumer', () => {
  const database = testDatabaseUrl('events_flow');
  const prefix = testPrefix();
  const log = createLogger('events-flow-test', 'silent');
  let orm: MikroORM;
  let relay: OutboxRelay;
  let consumer: EventConsumer;
  const received: EventEnvelope[] = [];

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
      handlers: {
        OrderPlaced: async (em, event) => {
          received.push(event);
          em.create(Applied, { eventId: event.id, type: event.type });
        },
      },
    });
    await consumer.ready();
    // A poll far longer than the test's timeout: only NOTIFY can deliver in time.
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

  it('wakes the relay with NOTIFY on commit, without waiting for the poll', async () => {
    // The first event may still meet the relay's start-up drain; every later drain is woken by NOTIFY.
    for (const name of ['first', 'second', 'third']) {
      const consumed = nextJobEvent(consumer.worker, 'completed', (job) => job.data.data.name === name);
      const event = await placeOrder(name);
      const { job, result } = await consumed;
      expect(job.id).toBe(event.id);
      expect(result).toBe('processed');
      expect(await orm.em.fork().count(Applied, { eventId: event.id })).toBe(1);
    }
    expect(received.map((e) => e.data.name)).toEqual(['first', 'second', 'third']);
    expect(await orm.em.fork().count(OutboxEvent, { publishedAt: null })).toBe(0);
  });
});
