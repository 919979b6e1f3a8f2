import { OutboxEvent } from '../../src/outbox';
import { Applied, nextJobEvent, startOrdersToInventory, type OrdersToInventory } from './fixture';

jest.setTimeout(30_000);

describe('outbox → relay → queue → consumer', () => {
  let flow: OrdersToInventory;

  beforeAll(async () => {
    flow = await startOrdersToInventory('events_flow');
    await flow.relay.start();
  });

  afterAll(async () => {
    await flow?.close();
  });

  it('delivers each committed event once, in order, as the job of its event id', async () => {
    // The first event may still meet the relay's start-up drain; every later one is woken by its commit.
    for (const name of ['first', 'second', 'third']) {
      const consumed = nextJobEvent(flow.consumer.worker, 'completed', (job) => job.data.data.name === name);
      const event = await flow.placeOrder(name);
      const { job, result } = await consumed;
      expect(job.id).toBe(event.id);
      expect(result).toBe('processed');
      expect(await flow.orm.em.fork().count(Applied, { eventId: event.id })).toBe(1);
    }
    expect(flow.received.map((e) => e.data.name)).toEqual(['first', 'second', 'third']);
    expect(await flow.orm.em.fork().count(OutboxEvent, { publishedAt: null })).toBe(0);
  });
});
