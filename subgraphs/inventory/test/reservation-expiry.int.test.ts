import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { createLogger, createTokenVerifier, OutboxEvent } from '../../kit/src';
import type { EventEnvelope, EventJobData } from '../../kit/src/events';
import { cleanupRedis, eventQueue, jobSettled, REDIS_URL, testPrefix } from '../../kit/src/events/testing';
import { queueJobsOnMetrics, testDatabaseUrl, TestIssuer } from '../../kit/src/testing';
import { readInventoryConfig } from '../src/config';
import { ReservationEntity, ReservationStatus } from '../src/reservation/reservation.entity';
import { createInventoryServer, type InventoryServer } from '../src/server';
import { good, INVENTORY_TEST_QUEUES, orderCancelled, orderConfirmed, orderPlaced } from './support/events';

jest.setTimeout(60_000);

/**
 * Reservations expire through a delayed BullMQ job (delay = RESERVATION_TTL_SECONDS, here 1 s).
 * While a test sets up an order its expiry queue is paused, so the job can only run once the test
 * resumes it: every wait is on the worker's 'completed' event, never on the clock.
 */
describe('reservation expiry', () => {
  const database = testDatabaseUrl('inventory_expiry');
  const prefix = testPrefix('inventory-expiry');
  let server: InventoryServer;
  let eventsQueue: Queue<EventJobData>;

  const sql = async <T>(text: string, params: unknown[] = []): Promise<T[]> => server.orm.em.fork().getConnection().execute(text, params);
  const level = async (productId: string) =>
    (await sql<{ on_hand: number; reserved: number }>('select "on_hand", "reserved" from "stock_level" where "product_id" = ?', [productId]))[0];
  const ledgerRows = async (productId: string) =>
    (await sql<{ n: number }>('select count(*)::int as n from "stock_movement" where "product_id" = ?', [productId]))[0]!.n;
  const reservationOf = async (orderId: string) => (await server.orm.em.fork().findOne(ReservationEntity, { orderId }))!;
  const expiredEvents = (orderId: string) => server.orm.em.fork().find(OutboxEvent, { type: 'ReservationExpired', subject: orderId });

  async function deliver(event: EventEnvelope): Promise<unknown> {
    const done = jobSettled(server.eventing!.consumer!.worker, 'completed', event.id);
    await eventsQueue.add(event.type, event, { jobId: event.id, removeOnComplete: true });
    return (await done).result;
  }

  /** Places an order while the expiry queue is paused, so its expiry job waits for runExpiry. */
  async function placeHeld(productId: string, quantity: number): Promise<{ orderId: string; reservation: ReservationEntity }> {
    const orderId = randomUUID();
    await server.expiryQueue.queue.pause();
    expect(await deliver(orderPlaced(orderId, [good(productId, quantity)]))).toBe('processed');
    const reservation = await reservationOf(orderId);
    expect(reservation.status).toBe(ReservationStatus.HELD);
    return { orderId, reservation };
  }

  /** Resumes the expiry queue and waits for the reservation's job to complete. */
  async function runExpiry(reservationId: string): Promise<unknown> {
    const done = jobSettled(server.expiryWorker!, 'completed', reservationId);
    await server.expiryQueue.queue.resume();
    return (await done).result;
  }

  beforeAll(async () => {
    const issuer = await TestIssuer.create();
    server = await createInventoryServer({
      config: readInventoryConfig({
        DATABASE_URL: database.url,
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        RESERVATION_TTL_SECONDS: '1',
        // Only the delayed jobs expire here; the sweep is tested in reservation.int.test.ts.
        RESERVATION_SWEEP_SECONDS: '0',
      }),
      log: createLogger('inventory-expiry-test', 'silent'),
      verifyToken: createTokenVerifier(issuer.keys),
      redis: REDIS_URL,
      prefix,
    });
    eventsQueue = eventQueue('inventory', prefix);
    await server.eventing!.consumer!.ready();
    await server.expiryWorker!.waitUntilReady();
  });

  afterAll(async () => {
    await server?.close();
    await eventsQueue?.close();
    await cleanupRedis(prefix, INVENTORY_TEST_QUEUES);
    await database.drop();
  });

  it('expires a HELD reservation when its TTL runs out: stock released, ReservationExpired recorded; a second run releases nothing', async () => {
    const productId = randomUUID();
    await sql('insert into "stock_level" ("product_id", "on_hand", "reserved", "low_stock_threshold") values (?, 5, 0, 0)', [productId]);
    const { orderId, reservation } = await placeHeld(productId, 3);
    expect(await level(productId)).toEqual({ on_hand: 5, reserved: 3 });
    // Its expiry job is on /metrics (delayed, or waiting once the TTL ran out on the paused queue).
    const expiry = await queueJobsOnMetrics(server.metrics.registry, 'inventory-reservation-expiry');
    expect(expiry.delayed! + expiry.waiting!).toBe(1);

    expect(await runExpiry(reservation.id)).toBe('expired');
    expect((await reservationOf(orderId)).status).toBe(ReservationStatus.EXPIRED);
    expect(await level(productId)).toEqual({ on_hand: 5, reserved: 0 });
    expect(await ledgerRows(productId)).toBe(2);
    const events = await expiredEvents(orderId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ source: 'inventory', subject: orderId, data: { orderId, reservationId: reservation.id } });

    // The same job again (completed jobs are removed, so the id is free): nothing more is released.
    const again = jobSettled(server.expiryWorker!, 'completed', reservation.id);
    await server.expiryQueue.schedule({ reservationId: reservation.id, orderId }, 0);
    expect((await again).result).toBe('not-held');
    expect(await level(productId)).toEqual({ on_hand: 5, reserved: 0 });
    expect(await ledgerRows(productId)).toBe(2);
    expect(await expiredEvents(orderId)).toHaveLength(1);

    // A late payment does not commit stock the reservation no longer holds.
    expect(await deliver(orderConfirmed(orderId))).toBe('processed');
    expect((await reservationOf(orderId)).status).toBe(ReservationStatus.EXPIRED);
    expect(await level(productId)).toEqual({ on_hand: 5, reserved: 0 });
  });

  it('does nothing when the reservation was committed before the TTL ran out', async () => {
    const productId = randomUUID();
    await sql('insert into "stock_level" ("product_id", "on_hand", "reserved", "low_stock_threshold") values (?, 5, 0, 0)', [productId]);
    const { orderId, reservation } = await placeHeld(productId, 2);
    expect(await deliver(orderConfirmed(orderId))).toBe('processed');

    expect(await runExpiry(reservation.id)).toBe('not-held');
    expect((await reservationOf(orderId)).status).toBe(ReservationStatus.COMMITTED);
    expect(await level(productId)).toEqual({ on_hand: 3, reserved: 0 });
    expect(await ledgerRows(productId)).toBe(2);
    expect(await expiredEvents(orderId)).toHaveLength(0);
  });

  it('does nothing when the order was cancelled first', async () => {
    const productId = randomUUID();
    await sql('insert into "stock_level" ("product_id", "on_hand", "reserved", "low_stock_threshold") values (?, 5, 0, 0)', [productId]);
    const { orderId, reservation } = await placeHeld(productId, 4);
    expect(await deliver(orderCancelled(orderId))).toBe('processed');

    expect(await runExpiry(reservation.id)).toBe('not-held');
    expect((await reservationOf(orderId)).status).toBe(ReservationStatus.RELEASED);
    expect(await level(productId)).toEqual({ on_hand: 5, reserved: 0 });
    expect(await expiredEvents(orderId)).toHaveLength(0);
  });

  it('expires an order without goods too, so orders cancels it as EXPIRED', async () => {
    const orderId = randomUUID();
    await server.expiryQueue.queue.pause();
    await deliver(orderPlaced(orderId, [{ productId: randomUUID(), kind: 'INDICATOR', quantity: 1 }]));
    const reservation = await reservationOf(orderId);
    expect(await runExpiry(reservation.id)).toBe('expired');
    expect((await expiredEvents(orderId)).map((event) => event.data)).toEqual([{ orderId, reservationId: reservation.id }]);
  });
});
