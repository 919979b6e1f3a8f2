import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { createLogger, createTokenVerifier, OutboxEvent } from '../../kit/src';
import { InboxRecord, type EventEnvelope, type EventJobData } from '../../kit/src/events';
import { cleanupRedis, eventQueue, jobSettled, REDIS_URL, testPrefix } from '../../kit/src/events/testing';
import { graphqlRequest, testDatabaseUrl, TestIssuer } from '../../kit/src/testing';
import { readInventoryConfig } from '../src/config';
import { ReservationEntity, ReservationStatus } from '../src/reservation/reservation.entity';
import { SWEEP_JOB, SWEEP_SCHEDULER_ID } from '../src/reservation/reservation.jobs';
import { RESERVATION_ACTOR_ID } from '../src/reservation/reservation.service';
import { createInventoryServer, type InventoryServer } from '../src/server';
import { eventually, good, INVENTORY_TEST_QUEUES, orderCancelled, orderConfirmed, orderPlaced, type TestLine } from './support/events';

jest.setTimeout(60_000);

const TTL_SECONDS = 3600;

interface LevelRow {
  product_id: string;
  on_hand: number;
  reserved: number;
}
interface MovementRow {
  product_id: string;
  delta: number;
  reserved_delta: number;
  on_hand_after: number;
  reserved_after: number;
  reservation_id: string | null;
  reason: string;
  actor_id: string;
}

describe('inventory reservations', () => {
  const database = testDatabaseUrl('inventory_reservations');
  const prefix = testPrefix('inventory');
  let server: InventoryServer;
  let url: string;
  let eventsQueue: Queue<EventJobData>;
  let ordersQueue: Queue<EventJobData>;

  const sql = async <T>(text: string, params: unknown[] = []): Promise<T[]> => server.orm.em.fork().getConnection().execute(text, params);
  const stock = async (productId: string, onHand: number, lowStockThreshold = 0) =>
    sql('insert into "stock_level" ("product_id", "on_hand", "reserved", "low_stock_threshold") values (?, ?, 0, ?)', [productId, onHand, lowStockThreshold]);
  const level = async (productId: string) => (await sql<LevelRow>('select "product_id", "on_hand", "reserved" from "stock_level" where "product_id" = ?', [productId]))[0];
  const movements = (productId: string) =>
    sql<MovementRow>(
      'select "product_id", "delta", "reserved_delta", "on_hand_after", "reserved_after", "reservation_id", "reason", "actor_id" from "stock_movement" where "product_id" = ? order by "id"',
      [productId],
    );
  const reservationOf = (orderId: string) => server.orm.em.fork().findOne(ReservationEntity, { orderId });
  const outbox = (type: string, orderId: string) => server.orm.em.fork().find(OutboxEvent, { type, subject: orderId }, { orderBy: { occurredAt: 'asc' } });
  const ids = (count: number) => Array.from({ length: count }, () => randomUUID()).sort();

  /** Puts the envelope on events-inventory the way the relay does (job id = event id) and waits for the consumer. */
  async function deliver(event: EventEnvelope, jobId = event.id): Promise<unknown> {
    const done = jobSettled(server.eventing!.consumer!.worker, 'completed', jobId);
    await eventsQueue.add(event.type, event, { jobId, attempts: 3, backoff: { type: 'exponential', delay: 50 }, removeOnComplete: true, removeOnFail: false });
    return (await done).result;
  }

  /** The OrderPlaced handler in a transaction of its own, as the consumer runs it (without the inbox). */
  const handlePlaced = (orderId: string, lines: TestLine[]) => {
    const event = orderPlaced(orderId, lines);
    return server.orm.em.fork().transactional((em) => server.eventHandlers.OrderPlaced!(em, event));
  };

  beforeAll(async () => {
    const issuer = await TestIssuer.create();
    const config = readInventoryConfig({
      DATABASE_URL: database.url,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      RESERVATION_TTL_SECONDS: String(TTL_SECONDS),
      RESERVATION_SWEEP_SECONDS: '0',
      DATABASE_POOL_SIZE: '10',
    });
    server = await createInventoryServer({
      config,
      log: createLogger('inventory-reservations-test', 'silent'),
      verifyToken: createTokenVerifier(issuer.keys),
      redis: REDIS_URL,
      prefix,
    });
    url = await server.listen(0);
    eventsQueue = eventQueue('inventory', prefix);
    ordersQueue = eventQueue('orders', prefix);
    await server.eventing!.consumer!.ready();
  });

  afterAll(async () => {
    await server?.close();
    await eventsQueue?.close();
    await ordersQueue?.close();
    await cleanupRedis(prefix, INVENTORY_TEST_QUEUES);
    await database.drop();
  });

  describe('OrderPlaced', () => {
    it('reserves every GOOD line at once, writes the ledger and records StockReserved', async () => {
      const [p1, p2] = ids(2);
      const [plan, indicator] = ids(2);
      await stock(p1, 10);
      await stock(p2, 5);
      const orderId = randomUUID();
      const before = Date.now();
      const result = await deliver(
        orderPlaced(orderId, [good(p2, 3), { productId: plan, kind: 'PLAN', quantity: 1 }, good(p1, 2), { productId: indicator, kind: 'INDICATOR', quantity: 1 }, good(p1, 1)]),
      );
      expect(result).toBe('processed');

      const reservation = (await reservationOf(orderId))!;
      expect(reservation).toMatchObject({ orderId, userId: 'user-1', status: ReservationStatus.HELD });
      // One line per product, quantities of a repeated product added, sorted by product id; other kinds hold nothing.
      expect(reservation.lines).toEqual([
        { productId: p1, quantity: 3 },
        { productId: p2, quantity: 3 },
      ]);
      expect(reservation.expiresAt.getTime()).toBeGreaterThanOrEqual(before + TTL_SECONDS * 1000);

      expect(await level(p1)).toMatchObject({ on_hand: 10, reserved: 3 });
      expect(await level(p2)).toMatchObject({ on_hand: 5, reserved: 3 });
      expect(await movements(p1)).toEqual([
        {
          product_id: p1,
          delta: 0,
          reserved_delta: 3,
          on_hand_after: 10,
          reserved_after: 3,
          reservation_id: reservation.id,
          reason: `order ${orderId} reserved`,
          actor_id: RESERVATION_ACTOR_ID,
        },
      ]);
      expect(await level(plan)).toBeUndefined();

      const [reserved] = await outbox('StockReserved', orderId);
      expect(reserved).toMatchObject({
        source: 'inventory',
        subject: orderId,
        data: { orderId, reservationId: reservation.id, expiresAt: reservation.expiresAt.toISOString() },
      });

      // The expiry job waits in the inventory's own queue: job id = reservation id, delay = the TTL.
      const job = await server.expiryQueue.queue.getJob(reservation.id);
      expect(job).toBeDefined();
      expect(job!.data).toEqual({ reservationId: reservation.id, orderId });
      expect(job!.opts.delay).toBe(TTL_SECONDS * 1000);
      expect(await job!.getState()).toBe('delayed');
    });

    it('shows held units in Product.stock.reserved', async () => {
      const [productId] = ids(1);
      await stock(productId, 7);
      await deliver(orderPlaced(randomUUID(), [good(productId, 4)]));
      const result = await graphqlRequest(url, 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { stock { onHand reserved available } } } }', {
        variables: { r: [{ __typename: 'Product', id: productId, kind: 'GOOD' }] },
      });
      expect(result.errors).toBeUndefined();
      expect(result.data!._entities[0].stock).toEqual({ onHand: 7, reserved: 4, available: 3 });
    });

    it('reserves nothing when one line is short and names every short product (a good without a level has 0)', async () => {
      const [enough, short, unknown] = ids(3);
      await stock(enough, 10);
      await stock(short, 2);
      const orderId = randomUUID();
      expect(await deliver(orderPlaced(orderId, [good(unknown, 1), good(enough, 5), good(short, 3)]))).toBe('processed');

      expect(await reservationOf(orderId)).toBeNull();
      expect(await level(enough)).toMatchObject({ on_hand: 10, reserved: 0 });
      expect(await level(short)).toMatchObject({ on_hand: 2, reserved: 0 });
      expect(await level(unknown)).toBeUndefined();
      expect(await movements(enough)).toEqual([]);
      expect(await movements(short)).toEqual([]);
      expect(await outbox('StockReserved', orderId)).toHaveLength(0);
      const [rejected] = await outbox('StockRejected', orderId);
      expect(rejected).toMatchObject({ source: 'inventory', subject: orderId, data: { orderId, reason: 'OUT_OF_STOCK', productIds: [short, unknown].sort() } });
    });

    it('gives an order without goods an empty reservation, so the saga is the same for every order', async () => {
      const orderId = randomUUID();
      await deliver(orderPlaced(orderId, [{ productId: randomUUID(), kind: 'PLAN', quantity: 1 }]));
      const reservation = (await reservationOf(orderId))!;
      expect(reservation).toMatchObject({ status: ReservationStatus.HELD, lines: [] });
      expect((await outbox('StockReserved', orderId))[0]!.data).toMatchObject({ orderId, reservationId: reservation.id });
    });

    it('applies a redelivered OrderPlaced once, and a second OrderPlaced for the order changes nothing', async () => {
      const [productId] = ids(1);
      await stock(productId, 10);
      const orderId = randomUUID();
      const event = orderPlaced(orderId, [good(productId, 4)]);
      const results = await Promise.all([deliver(event), deliver(event, `${event.id}-redelivered`)]);
      expect(results.sort()).toEqual(['duplicate', 'processed']);
      expect(await server.orm.em.fork().count(InboxRecord, { eventId: event.id })).toBe(1);

      // Another event id for the same order: past the inbox, stopped by the reservation's unique order id.
      expect(await deliver(orderPlaced(orderId, [good(productId, 4)]))).toBe('processed');

      expect(await level(productId)).toMatchObject({ on_hand: 10, reserved: 4 });
      expect(await movements(productId)).toHaveLength(1);
      expect(await outbox('StockReserved', orderId)).toHaveLength(1);
      expect(await server.orm.em.fork().count(ReservationEntity, { orderId })).toBe(1);
    });

    it('fails a malformed OrderPlaced at once, reserving nothing', async () => {
      const [productId] = ids(1);
      await stock(productId, 10);
      const orderId = randomUUID();
      const event = orderPlaced(orderId, [good(productId, 0)]);
      const failed = jobSettled(server.eventing!.consumer!.worker, 'failed', event.id);
      await eventsQueue.add(event.type, event, { jobId: event.id, attempts: 3, removeOnFail: false });
      const { job, result: error } = await failed;
      expect(job.attemptsMade).toBe(1);
      expect((error as Error).message).toMatch(/quantity must be a positive integer/);
      expect(await level(productId)).toMatchObject({ reserved: 0 });
      expect(await reservationOf(orderId)).toBeNull();
    });

    it('sells 50 units exactly once to 200 concurrent orders', async () => {
      const [productId] = ids(1);
      await stock(productId, 50);
      const orders = ids(200);
      const settled = await Promise.allSettled(orders.map((orderId) => handlePlaced(orderId, [good(productId, 1)])));
      expect(settled.filter((outcome) => outcome.status === 'rejected')).toEqual([]);

      const count = async (type: string) =>
        (await sql<{ n: number }>(`select count(*)::int as n from "outbox" where "type" = ? and "subject" in (${orders.map(() => '?').join(', ')})`, [type, ...orders]))[0]!.n;
      expect(await count('StockReserved')).toBe(50);
      expect(await count('StockRejected')).toBe(150);
      expect(await level(productId)).toMatchObject({ on_hand: 50, reserved: 50 });
      const held = await sql<{ n: number }>(`select count(*)::int as n from "reservation" where "status" = 'HELD' and "lines" @> ?::jsonb`, [
        JSON.stringify([{ productId }]),
      ]);
      expect(held[0]!.n).toBe(50);
      // One ledger row per reservation, each seeing the one before it: reserved_after runs 1..50 and never passes on_hand.
      const rows = await movements(productId);
      expect(rows.map((row) => row.reserved_after)).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
      expect(rows.every((row) => row.on_hand_after - row.reserved_after >= 0)).toBe(true);
    });

    it('does not deadlock when orders lock the same products in opposite line order', async () => {
      const [a, b] = ids(2);
      await stock(a, 1000);
      await stock(b, 1000);
      const orders = ids(60);
      const settled = await Promise.allSettled(orders.map((orderId, index) => handlePlaced(orderId, index % 2 === 0 ? [good(a, 1), good(b, 2)] : [good(b, 2), good(a, 1)])));
      const errors = settled.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason)] : []));
      expect(errors).toEqual([]);
      expect(await level(a)).toMatchObject({ reserved: 60 });
      expect(await level(b)).toMatchObject({ reserved: 120 });
    });

    it('records LowStock when a reservation takes availability to the threshold', async () => {
      const [productId] = ids(1);
      await stock(productId, 10, 5);
      await deliver(orderPlaced(randomUUID(), [good(productId, 4)])); // 10 -> 6: above
      expect(await server.orm.em.fork().find(OutboxEvent, { type: 'LowStock', subject: productId })).toHaveLength(0);
      const orderId = randomUUID();
      await deliver(orderPlaced(orderId, [good(productId, 1)])); // 6 -> 5: crosses
      const events = await server.orm.em.fork().find(OutboxEvent, { type: 'LowStock', subject: productId });
      expect(events.map((event) => event.data)).toEqual([{ productId, onHand: 10, reserved: 5, available: 5, previousAvailable: 6, lowStockThreshold: 5 }]);

      // Committing moves on_hand and reserved together: availability stays, no second LowStock.
      await deliver(orderConfirmed(orderId));
      expect(await server.orm.em.fork().find(OutboxEvent, { type: 'LowStock', subject: productId })).toHaveLength(1);
    });
  });

  describe('OrderConfirmed', () => {
    it('commits the held units once: on_hand and reserved drop, with ledger rows', async () => {
      const [p1, p2] = ids(2);
      await stock(p1, 10);
      await stock(p2, 4);
      const orderId = randomUUID();
      await deliver(orderPlaced(orderId, [good(p1, 3), good(p2, 4)]));
      const reservation = (await reservationOf(orderId))!;

      const confirmed = orderConfirmed(orderId, [good(p1, 3), good(p2, 4)]);
      const results = await Promise.all([deliver(confirmed), deliver(confirmed, `${confirmed.id}-redelivered`)]);
      expect(results.sort()).toEqual(['duplicate', 'processed']);
      expect(await deliver(orderConfirmed(orderId))).toBe('processed'); // another event id: not HELD any more

      expect((await reservationOf(orderId))!.status).toBe(ReservationStatus.COMMITTED);
      expect(await level(p1)).toMatchObject({ on_hand: 7, reserved: 0 });
      expect(await level(p2)).toMatchObject({ on_hand: 0, reserved: 0 });
      expect((await movements(p1)).map(({ delta, reserved_delta, on_hand_after, reserved_after, reason, reservation_id }) => ({ delta, reserved_delta, on_hand_after, reserved_after, reason, reservation_id }))).toEqual([
        { delta: 0, reserved_delta: 3, on_hand_after: 10, reserved_after: 3, reason: `order ${orderId} reserved`, reservation_id: reservation.id },
        { delta: -3, reserved_delta: -3, on_hand_after: 7, reserved_after: 0, reason: `order ${orderId} committed`, reservation_id: reservation.id },
      ]);
    });

    it('does not commit a reservation that was released, nor an order it never reserved', async () => {
      const [productId] = ids(1);
      await stock(productId, 5);
      const orderId = randomUUID();
      await deliver(orderPlaced(orderId, [good(productId, 2)]));
      await deliver(orderCancelled(orderId, 'PAYMENT_FAILED'));
      expect(await deliver(orderConfirmed(orderId, [good(productId, 2)]))).toBe('processed');

      expect((await reservationOf(orderId))!.status).toBe(ReservationStatus.RELEASED);
      expect(await level(productId)).toMatchObject({ on_hand: 5, reserved: 0 });
      expect(await movements(productId)).toHaveLength(2);

      expect(await deliver(orderConfirmed(randomUUID(), [good(productId, 1)]))).toBe('processed');
      expect(await level(productId)).toMatchObject({ on_hand: 5, reserved: 0 });
    });
  });

  describe('OrderCancelled', () => {
    it('releases a held reservation once', async () => {
      const [productId] = ids(1);
      await stock(productId, 8);
      const orderId = randomUUID();
      await deliver(orderPlaced(orderId, [good(productId, 6)]));
      const reservation = (await reservationOf(orderId))!;

      const cancelled = orderCancelled(orderId, 'CUSTOMER', [good(productId, 6)]);
      const results = await Promise.all([deliver(cancelled), deliver(cancelled, `${cancelled.id}-redelivered`)]);
      expect(results.sort()).toEqual(['duplicate', 'processed']);
      await deliver(orderCancelled(orderId, 'CUSTOMER'));

      expect((await reservationOf(orderId))!.status).toBe(ReservationStatus.RELEASED);
      expect(await level(productId)).toMatchObject({ on_hand: 8, reserved: 0 });
      expect((await movements(productId)).map(({ delta, reserved_delta, reserved_after, reason }) => ({ delta, reserved_delta, reserved_after, reason }))).toEqual([
        { delta: 0, reserved_delta: 6, reserved_after: 6, reason: `order ${orderId} reserved` },
        { delta: 0, reserved_delta: -6, reserved_after: 0, reason: `order ${orderId} cancelled (CUSTOMER): reservation released` },
      ]);
      expect(await outbox('ReservationExpired', orderId)).toHaveLength(0);
      expect(reservation.id).toBeDefined();
    });

    it('leaves a committed reservation alone and ignores orders without one', async () => {
      const [productId] = ids(1);
      await stock(productId, 8);
      const orderId = randomUUID();
      await deliver(orderPlaced(orderId, [good(productId, 3)]));
      await deliver(orderConfirmed(orderId));
      expect(await deliver(orderCancelled(orderId, 'ADMIN'))).toBe('processed');
      expect((await reservationOf(orderId))!.status).toBe(ReservationStatus.COMMITTED);
      expect(await level(productId)).toMatchObject({ on_hand: 5, reserved: 0 });

      const unknownOrder = randomUUID();
      expect(await deliver(orderCancelled(unknownOrder))).toBe('processed');
      expect(await reservationOf(unknownOrder)).toBeNull();
    });
  });

  describe('expiry', () => {
    it('expires overdue HELD reservations in a sweep (the backstop for lost jobs), once', async () => {
      const [productId] = ids(1);
      await stock(productId, 5);
      const [overdue, current] = ids(2);
      await deliver(orderPlaced(overdue, [good(productId, 2)]));
      await deliver(orderPlaced(current, [good(productId, 1)]));
      await sql(`update "reservation" set "expires_at" = now() - interval '1 minute' where "order_id" = ?`, [overdue]);
      const reservation = (await reservationOf(overdue))!;

      expect(await server.reservations.expireOverdue(server.orm.em)).toEqual([reservation.id]);
      expect(await server.reservations.expireOverdue(server.orm.em)).toEqual([]);

      expect((await reservationOf(overdue))!.status).toBe(ReservationStatus.EXPIRED);
      expect((await reservationOf(current))!.status).toBe(ReservationStatus.HELD);
      expect(await level(productId)).toMatchObject({ on_hand: 5, reserved: 1 });
      const expired = await outbox('ReservationExpired', overdue);
      expect(expired.map((event) => event.data)).toEqual([{ orderId: overdue, reservationId: reservation.id }]);
    });

    it('runs the sweep as a job of the expiry queue, on a schedule kept once per deployment', async () => {
      const [productId] = ids(1);
      await stock(productId, 5);
      const orderId = randomUUID();
      await deliver(orderPlaced(orderId, [good(productId, 2)]));
      await sql(`update "reservation" set "expires_at" = now() - interval '1 second' where "order_id" = ?`, [orderId]);

      const swept = jobSettled(server.expiryWorker!, 'completed', 'sweep-now');
      await server.expiryQueue.queue.add(SWEEP_JOB, {}, { jobId: 'sweep-now', removeOnComplete: true });
      expect((await swept).result).toEqual({ swept: 1 });
      expect((await reservationOf(orderId))!.status).toBe(ReservationStatus.EXPIRED);
      expect(await level(productId)).toMatchObject({ reserved: 0 });

      await server.expiryQueue.scheduleSweep(3600);
      expect(await server.expiryQueue.queue.getJobScheduler(SWEEP_SCHEDULER_ID)).toMatchObject({ every: 3_600_000, name: SWEEP_JOB });
      await server.expiryQueue.scheduleSweep(0);
      expect(await server.expiryQueue.queue.getJobScheduler(SWEEP_SCHEDULER_ID)).toBeUndefined();
    });
  });

  describe('end to end in-process', () => {
    it('consumes OrderPlaced from events-inventory and the relay publishes StockReserved to events-orders', async () => {
      const [productId] = ids(1);
      await stock(productId, 3);
      const orderId = randomUUID();
      const event = orderPlaced(orderId, [good(productId, 3)]);
      // What orders' relay does: job name = type, job id = event id, on inventory's queue.
      const consumed = jobSettled(server.eventing!.consumer!.worker, 'completed', event.id);
      await eventsQueue.add(event.type, event, { jobId: event.id, attempts: 8, backoff: { type: 'exponential', delay: 1000 } });
      expect((await consumed).result).toBe('processed');

      const [reserved] = await outbox('StockReserved', orderId);
      expect(reserved).toBeDefined();
      await eventually(async () => (await server.orm.em.fork().findOneOrFail(OutboxEvent, reserved!.id)).publishedAt !== null, 'the relay to publish StockReserved');
      const job = await ordersQueue.getJob(reserved!.id);
      expect(job).toBeDefined();
      expect(job!.name).toBe('StockReserved');
      expect(job!.data).toMatchObject({ id: reserved!.id, type: 'StockReserved', source: 'inventory', subject: orderId, data: reserved!.data });
    });

    it('reports Redis in /ready', async () => {
      const response = await fetch(url.replace('/graphql', '/ready'));
      expect(await response.json()).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });
    });
  });
});
