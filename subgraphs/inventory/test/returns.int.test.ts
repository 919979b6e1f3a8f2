import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { createLogger, createTokenVerifier, OutboxEvent } from '../../kit/src';
import { InboxRecord, type EventEnvelope, type EventJobData } from '../../kit/src/events';
import { cleanupRedis, eventQueue, jobSettled, REDIS_URL, testPrefix } from '../../kit/src/events/testing';
import { testDatabaseUrl, TestIssuer } from '../../kit/src/testing';
import { readInventoryConfig } from '../src/config';
import { RESERVATION_ACTOR_ID } from '../src/reservation/reservation.service';
import { RestockEntity } from '../src/returns/restock.entity';
import { createInventoryServer, type InventoryServer } from '../src/server';
import { good, INVENTORY_TEST_QUEUES, orderConfirmed, orderPlaced, returnApproved, type TestLine } from './support/events';

jest.setTimeout(60_000);

const DEFAULT_THRESHOLD = 7;

interface LevelRow {
  product_id: string;
  on_hand: number;
  reserved: number;
  low_stock_threshold: number;
}
interface MovementRow {
  product_id: string;
  delta: number;
  reserved_delta: number;
  on_hand_after: number;
  reserved_after: number;
  reservation_id: string | null;
  return_id: string | null;
  reason: string;
  actor_id: string;
}

describe('inventory restocks approved returns', () => {
  const database = testDatabaseUrl('inventory_returns');
  const prefix = testPrefix('inventory-returns');
  let server: InventoryServer;
  let eventsQueue: Queue<EventJobData>;

  const sql = async <T>(text: string, params: unknown[] = []): Promise<T[]> => server.orm.em.fork().getConnection().execute(text, params);
  const stock = async (productId: string, onHand: number, lowStockThreshold = 0) =>
    sql('insert into "stock_level" ("product_id", "on_hand", "reserved", "low_stock_threshold") values (?, ?, 0, ?)', [productId, onHand, lowStockThreshold]);
  const level = async (productId: string) =>
    (await sql<LevelRow>('select "product_id", "on_hand", "reserved", "low_stock_threshold" from "stock_level" where "product_id" = ?', [productId]))[0];
  const movements = (productId: string) =>
    sql<MovementRow>(
      'select "product_id", "delta", "reserved_delta", "on_hand_after", "reserved_after", "reservation_id", "return_id", "reason", "actor_id" from "stock_movement" where "product_id" = ? order by "id"',
      [productId],
    );
  const restockOf = (returnId: string) => server.orm.em.fork().findOne(RestockEntity, { returnId });
  const ids = (count: number) => Array.from({ length: count }, () => randomUUID()).sort();

  /** Puts the envelope on events-inventory the way the relay does (job id = event id) and waits for the consumer. */
  async function deliver(event: EventEnvelope, jobId = event.id): Promise<unknown> {
    const done = jobSettled(server.eventing!.consumer!.worker, 'completed', jobId);
    await eventsQueue.add(event.type, event, { jobId, attempts: 3, backoff: { type: 'exponential', delay: 50 }, removeOnComplete: true, removeOnFail: false });
    return (await done).result;
  }

  /** The ReturnApproved handler in a transaction of its own, as the consumer runs it (without the inbox). */
  const handleReturn = (orderId: string, returnId: string, lines: TestLine[]) => {
    const event = returnApproved(orderId, returnId, lines);
    return server.orm.em.fork().transactional((em) => server.eventHandlers.ReturnApproved!(em, event));
  };

  beforeAll(async () => {
    const issuer = await TestIssuer.create();
    const config = readInventoryConfig({
      DATABASE_URL: database.url,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      RESERVATION_SWEEP_SECONDS: '0',
      LOW_STOCK_DEFAULT_THRESHOLD: String(DEFAULT_THRESHOLD),
      DATABASE_POOL_SIZE: '10',
    });
    server = await createInventoryServer({
      config,
      log: createLogger('inventory-returns-test', 'silent'),
      verifyToken: createTokenVerifier(issuer.keys),
      redis: REDIS_URL,
      prefix,
    });
    await server.listen(0);
    eventsQueue = eventQueue('inventory', prefix);
    await server.eventing!.consumer!.ready();
  });

  afterAll(async () => {
    await server?.close();
    await eventsQueue?.close();
    await cleanupRedis(prefix, INVENTORY_TEST_QUEUES);
    await database.drop();
  });

  it('puts the GOOD lines of a sold order back on the shelf with one ledger row per product', async () => {
    const [p1, p2] = ids(2);
    const [plan, indicator] = ids(2);
    await stock(p1, 10);
    await stock(p2, 5);
    const orderId = randomUUID();
    await deliver(orderPlaced(orderId, [good(p1, 4), good(p2, 2)]));
    await deliver(orderConfirmed(orderId));
    expect(await level(p1)).toMatchObject({ on_hand: 6, reserved: 0 });

    const returnId = randomUUID();
    const event = returnApproved(orderId, returnId, [
      good(p2, 1),
      { productId: plan, kind: 'PLAN', quantity: 1 },
      good(p1, 2),
      { productId: indicator, kind: 'INDICATOR', quantity: 1 },
      good(p1, 1),
    ]);
    expect(await deliver(event)).toBe('processed');

    expect(await level(p1)).toMatchObject({ on_hand: 9, reserved: 0 });
    expect(await level(p2)).toMatchObject({ on_hand: 4, reserved: 0 });
    const reason = `return ${returnId} of order ${orderId}`;
    // Repeated products are added up: one ledger row per product.
    expect((await movements(p1)).slice(2)).toEqual([
      { product_id: p1, delta: 3, reserved_delta: 0, on_hand_after: 9, reserved_after: 0, reservation_id: null, return_id: returnId, reason, actor_id: RESERVATION_ACTOR_ID },
    ]);
    expect((await movements(p2)).slice(2)).toEqual([
      { product_id: p2, delta: 1, reserved_delta: 0, on_hand_after: 4, reserved_after: 0, reservation_id: null, return_id: returnId, reason, actor_id: RESERVATION_ACTOR_ID },
    ]);
    // Digital kinds are not stocked: no level appears for them.
    expect(await level(plan)).toBeUndefined();
    expect(await level(indicator)).toBeUndefined();

    expect(await restockOf(returnId)).toMatchObject({
      orderId,
      eventId: event.id,
      lines: [
        { productId: p1, quantity: 3 },
        { productId: p2, quantity: 1 },
      ],
    });
    // A restock only raises availability: no LowStock, no event at all.
    expect(await server.orm.em.fork().count(OutboxEvent, { type: 'LowStock', subject: { $in: [p1, p2] } })).toBe(0);
  });

  it('raises on_hand without touching units held by other orders', async () => {
    const [productId] = ids(1);
    await stock(productId, 5);
    await deliver(orderPlaced(randomUUID(), [good(productId, 3)]));
    const returnId = randomUUID();
    await deliver(returnApproved(randomUUID(), returnId, [good(productId, 2)]));
    expect(await level(productId)).toMatchObject({ on_hand: 7, reserved: 3 });
    expect((await movements(productId)).at(-1)).toMatchObject({ delta: 2, reserved_delta: 0, on_hand_after: 7, reserved_after: 3, return_id: returnId });
  });

  it('gives a returned good without a level row one, at the default threshold', async () => {
    const [productId] = ids(1);
    const orderId = randomUUID();
    const returnId = randomUUID();
    expect(await deliver(returnApproved(orderId, returnId, [good(productId, 2)]))).toBe('processed');
    expect(await level(productId)).toEqual({ product_id: productId, on_hand: 2, reserved: 0, low_stock_threshold: DEFAULT_THRESHOLD });
    expect(await movements(productId)).toEqual([
      {
        product_id: productId,
        delta: 2,
        reserved_delta: 0,
        on_hand_after: 2,
        reserved_after: 0,
        reservation_id: null,
        return_id: returnId,
        reason: `return ${returnId} of order ${orderId}`,
        actor_id: RESERVATION_ACTOR_ID,
      },
    ]);
  });

  it('restocks a return once: a redelivered event is a duplicate, another event for the return changes nothing', async () => {
    const [productId] = ids(1);
    await stock(productId, 10);
    const orderId = randomUUID();
    const returnId = randomUUID();
    const event = returnApproved(orderId, returnId, [good(productId, 2)]);
    const results = await Promise.all([deliver(event), deliver(event, `${event.id}-redelivered`)]);
    expect(results.sort()).toEqual(['duplicate', 'processed']);
    expect(await server.orm.em.fork().count(InboxRecord, { eventId: event.id })).toBe(1);

    // Another event id for the same return: past the inbox, stopped by the restock's unique return id.
    const again = returnApproved(orderId, returnId, [good(productId, 2)]);
    expect(await deliver(again)).toBe('processed');
    expect(await server.orm.em.fork().count(InboxRecord, { eventId: again.id })).toBe(1);

    expect(await level(productId)).toMatchObject({ on_hand: 12 });
    expect(await movements(productId)).toHaveLength(1);
    expect((await restockOf(returnId))!.eventId).toBe(event.id);
  });

  it('restocks a return once when events for it race in separate transactions', async () => {
    const [productId] = ids(1);
    await stock(productId, 1);
    const orderId = randomUUID();
    const returnId = randomUUID();
    const settled = await Promise.allSettled(Array.from({ length: 10 }, () => handleReturn(orderId, returnId, [good(productId, 1)])));
    expect(settled.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    expect(await level(productId)).toMatchObject({ on_hand: 2 });
    expect(await movements(productId)).toHaveLength(1);
    expect(await server.orm.em.fork().count(RestockEntity, { returnId })).toBe(1);
  });

  it('does not deadlock when returns create and lock the same levels in opposite line order', async () => {
    const [a, b] = ids(2);
    const returns = ids(40);
    const settled = await Promise.allSettled(
      returns.map((returnId, index) => handleReturn(randomUUID(), returnId, index % 2 === 0 ? [good(a, 1), good(b, 2)] : [good(b, 2), good(a, 1)])),
    );
    const errors = settled.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason)] : []));
    expect(errors).toEqual([]);
    expect(await level(a)).toMatchObject({ on_hand: 40, reserved: 0 });
    expect(await level(b)).toMatchObject({ on_hand: 80, reserved: 0 });
    // Every ledger row sees the one before it.
    expect((await movements(a)).map((row) => row.on_hand_after)).toEqual(Array.from({ length: 40 }, (_, index) => index + 1));
  });

  it('records a return without goods and restocks nothing', async () => {
    const [plan] = ids(1);
    const returnId = randomUUID();
    expect(await deliver(returnApproved(randomUUID(), returnId, [{ productId: plan, kind: 'PLAN', quantity: 1 }]))).toBe('processed');
    expect(await level(plan)).toBeUndefined();
    expect(await restockOf(returnId)).toMatchObject({ lines: [] });
  });

  it('fails a malformed ReturnApproved at once, restocking nothing', async () => {
    const [productId] = ids(1);
    await stock(productId, 3);
    const returnId = randomUUID();
    const event = returnApproved(randomUUID(), returnId, [good(productId, 0)]);
    const failed = jobSettled(server.eventing!.consumer!.worker, 'failed', event.id);
    await eventsQueue.add(event.type, event, { jobId: event.id, attempts: 3, removeOnFail: false });
    const { job, result: error } = await failed;
    expect(job.attemptsMade).toBe(1);
    expect((error as Error).message).toMatch(/quantity must be a positive integer/);
    expect(await level(productId)).toMatchObject({ on_hand: 3 });
    expect(await restockOf(returnId)).toBeNull();
    expect(await server.orm.em.fork().count(InboxRecord, { eventId: event.id })).toBe(0);
  });
});
