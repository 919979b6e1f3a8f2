import { randomUUID } from 'node:crypto';
import { OutboxEvent, recordEvent } from '../../src/outbox';
import { Applied, nextJobEvent, startOrdersToInventory, type OrdersToInventory } from './fixture';

jest.setTimeout(30_000);

/** `relay.wake()`: a writer that does not rely on NOTIFY tells its relay it committed events. */
describe('outbox relay woken by its writer', () => {
  let flow: OrdersToInventory;

  beforeAll(async () => {
    // No wake on commit: only wake() can deliver in time.
    flow = await startOrdersToInventory('events_wake', { wakeOnCommit: false });
  });

  afterAll(async () => {
    await flow?.close();
  });

  it('drains what was committed each time it is woken', async () => {
    const early = await flow.placeOrder('early');
    const consumedEarly = nextJobEvent(flow.consumer.worker, 'completed', (job) => job.id === early.id);
    // start() drains once.
    await flow.relay.start();
    await consumedEarly;
    for (const name of ['second', 'third']) {
      const event = await flow.placeOrder(name);
      const consumed = nextJobEvent(flow.consumer.worker, 'completed', (job) => job.id === event.id);
      flow.relay.wake();
      await consumed;
      expect(await flow.orm.em.fork().count(Applied, { eventId: event.id })).toBe(1);
    }
    expect(await flow.orm.em.fork().count(OutboxEvent, { publishedAt: null })).toBe(0);
  });

  it('drains after committed(), the call of a writer its commit hook does not see', async () => {
    const event = await flow.placeOrder('told');
    const consumed = nextJobEvent(flow.consumer.worker, 'completed', (job) => job.id === event.id);
    flow.relay.committed();
    flow.relay.committed();
    await consumed;
    expect(await flow.orm.em.fork().count(Applied, { eventId: event.id })).toBe(1);
  });
});

/** `wakeOnCommit`: any commit of the relay's ORM wakes it, so the writing process needs no NOTIFY and no call. */
describe('outbox relay woken by commits', () => {
  let flow: OrdersToInventory;

  beforeAll(async () => {
    flow = await startOrdersToInventory('events_commit_wake');
    await flow.relay.start();
  });

  afterAll(async () => {
    await flow?.close();
  });

  it('publishes each committed event without NOTIFY, poll or wake()', async () => {
    for (const name of ['first', 'second', 'third']) {
      const id = randomUUID();
      const consumed = nextJobEvent(flow.consumer.worker, 'completed', (job) => job.id === id);
      await flow.orm.em.fork().transactional(async (em) => {
        recordEvent(em, 'orders', 'OrderPlaced', id, { name }).id = id;
      });
      await consumed;
      expect(await flow.orm.em.fork().count(Applied, { eventId: id })).toBe(1);
    }
    expect(await flow.orm.em.fork().count(OutboxEvent, { publishedAt: null })).toBe(0);
  });

  it('publishes nothing from a rolled-back transaction', async () => {
    const id = randomUUID();
    await expect(
      flow.orm.em.fork().transactional(async (em) => {
        recordEvent(em, 'orders', 'OrderPlaced', id, { name: 'never' }).id = id;
        await em.flush();
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    // A later commit wakes the relay; the aborted event was never there to publish.
    const laterId = randomUUID();
    const consumed = nextJobEvent(flow.consumer.worker, 'completed', (job) => job.id === laterId);
    await flow.orm.em.fork().transactional(async (em) => void (recordEvent(em, 'orders', 'OrderPlaced', laterId, {}).id = laterId));
    await consumed;
    expect(await flow.orm.em.fork().count(Applied, { eventId: id })).toBe(0);
    expect(await flow.orm.em.fork().count(OutboxEvent, { id })).toBe(0);
  });
});

/** Polls: how rows written by other processes (replicas) go out; an empty outbox costs one statement, not a transaction. */
describe('outbox relay polling', () => {
  let flow: OrdersToInventory;
  const statements: string[] = [];
  const waiting: (() => void)[] = [];

  beforeAll(async () => {
    flow = await startOrdersToInventory('events_poll', { wakeOnCommit: false, pollIntervalMs: 20 });
    flow.orm.em.getKnex().on('query', (query: { sql: string }) => {
      statements.push(query.sql);
      for (const wake of waiting.splice(0)) wake();
    });
  });

  afterAll(async () => {
    await flow?.close();
  });

  const matching = (pattern: RegExp) => statements.filter((sql) => pattern.test(sql)).length;
  /** Resolves once `count` more statements matching `pattern` have run. */
  const statementsMatching = async (pattern: RegExp, count: number): Promise<void> => {
    const target = matching(pattern) + count;
    while (matching(pattern) < target) await new Promise<void>((resolve) => waiting.push(resolve));
  };

  it('looks for unpublished rows with one statement and claims only when there are some', async () => {
    const probe = /^select 1 from "outbox_pending" limit 1$/;
    const claim = /for update of p skip locked/;
    await flow.relay.start();
    // start() drains once; from then on, polls.
    await statementsMatching(probe, 1);
    const claimsBefore = matching(claim);
    await statementsMatching(probe, 3);
    expect(matching(claim)).toBe(claimsBefore);

    // A row written where no commit wakes this relay goes out at the next poll.
    const event = await flow.placeOrder('polled');
    const consumed = nextJobEvent(flow.consumer.worker, 'completed', (job) => job.id === event.id);
    await consumed;
    expect(await flow.orm.em.fork().count(Applied, { eventId: event.id })).toBe(1);
    expect(matching(claim)).toBeGreaterThan(claimsBefore);
  });
});
