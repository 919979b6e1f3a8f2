import { randomUUID } from 'node:crypto';
import type { Job, Queue } from 'bullmq';
import type { EventEnvelope, EventJobData } from '../../kit/src/events';
import { cleanupRedis, eventQueue, jobEnded, REDIS_URL, testEnvelope, testPrefix } from '../../kit/src/events/testing';
import { ACCOUNT_DELETED, ERASED } from '../src/user/user.events';
import { ADD_TO_CART, CUSTOMER_ID, MARK_DELIVERED, ORDER, OTHER_ID, SHIP, startOrders, type OrdersHarness, type TestProduct } from './harness';

const REQUEST_RETURN = 'mutation($orderId: ID!, $lines: [ReturnLineInput!]!, $reason: String!) { requestReturn(orderId: $orderId, lines: $lines, reason: $reason) { id } }';
const REJECT_RETURN = 'mutation($id: ID!, $reason: String) { rejectReturn(id: $id, reason: $reason) { id status } }';

const userDeleted = (userId: unknown, data: Record<string, unknown> = { userId, deletedAt: '2030-01-01T12:00:00.000Z' }): EventEnvelope =>
  testEnvelope('UserDeleted', 'users', String(userId), data, '2030-01-01T12:00:00.000Z');

/** What one user has in orders: a delivered order with a rejected return, an order awaiting payment, a pending one and a cart. */
interface UserData {
  fulfilled: string;
  awaiting: string;
  pending: string;
  returnId: string;
}

describe('account deletion (UserDeleted from users)', () => {
  const prefix = testPrefix('orders');
  let h: OrdersHarness;
  let queue: Queue<EventJobData>;
  let good: TestProduct;
  let indicator: TestProduct;
  const data: Record<string, UserData> = {};

  /** Everything orders holds of a user, row by row (ids, amounts, texts, statuses). */
  const rowsOf = async (userId: string) => ({
    carts: await h.sql('select c.*, (select json_agg(l.* order by l."id") from "cart_line" l where l."cart_id" = c."id") as "lines" from "cart" c where c."user_id" = ?', [userId]),
    orders: await h.sql('select * from "orders" where "user_id" = ? order by "id"', [userId]),
    lines: await h.sql('select l.* from "order_line" l join "orders" o on o."id" = l."order_id" where o."user_id" = ? order by l."id"', [userId]),
    history: await h.sql('select h.* from "order_history" h join "orders" o on o."id" = h."order_id" where o."user_id" = ? order by h."id"', [userId]),
    returns: await h.sql('select * from "order_return" where "user_id" = ? order by "id"', [userId]),
  });

  /** Puts the envelope on events-orders (as the relay does, with retries) and resolves with how its job ended. */
  async function deliver(envelope: EventEnvelope, jobId = envelope.id): Promise<{ outcome: 'completed' | 'failed'; job: Job; result: unknown }> {
    const settled = jobEnded(h.server.consumer!.worker, jobId);
    await queue.add(envelope.type, envelope, { jobId, attempts: 3, backoff: { type: 'fixed', delay: 10 }, removeOnFail: false });
    return settled;
  }

  async function dataOf(token: string): Promise<UserData> {
    const fulfilled = await h.placeOrder([{ productId: good.productId, quantity: 2 }], token);
    await h.deliver(h.envelope('StockReserved', { orderId: fulfilled.id, reservationId: randomUUID() }));
    await h.deliver(h.envelope('PaymentSucceeded', { orderId: fulfilled.id, paymentId: `pay-${fulfilled.id}`, amount: fulfilled.total.amount, currency: 'USD' }));
    expect((await h.request(SHIP, { id: fulfilled.id, trackingNumber: `TRK-${fulfilled.id}` }, h.admin)).errors).toBeUndefined();
    expect((await h.request(MARK_DELIVERED, { id: fulfilled.id }, h.admin)).data!.markDelivered.status).toBe('FULFILLED');
    const requested = await h.request(REQUEST_RETURN, { orderId: fulfilled.id, lines: [{ productId: good.productId, quantity: 1 }], reason: 'My neighbour Jane at 4 Elm St signed for it; it was broken' }, token);
    expect(requested.errors).toBeUndefined();
    const returnId = requested.data!.requestReturn.id;
    expect((await h.request(REJECT_RETURN, { id: returnId, reason: 'Called Jane on +1 555 0100: damage was caused after delivery' }, h.admin)).errors).toBeUndefined();

    const awaiting = await h.placeOrder([{ productId: good.productId, quantity: 1 }], token);
    await h.deliver(h.envelope('StockReserved', { orderId: awaiting.id, reservationId: randomUUID() }));
    const pending = await h.placeOrder([{ productId: indicator.productId, quantity: 1 }], token);
    for (const productId of [good.productId, indicator.productId]) expect((await h.request(ADD_TO_CART, { productId, quantity: 1 }, token)).errors).toBeUndefined();
    return { fulfilled: fulfilled.id, awaiting: awaiting.id, pending: pending.id, returnId };
  }

  beforeAll(async () => {
    h = await startOrders({ EVENTS_ENABLED: 'true', EVENTS_PREFIX: prefix, REDIS_URL });
    queue = eventQueue('orders', prefix);
    good = await h.product({ kind: 'GOOD', priceAmount: 2500 });
    indicator = await h.product({ kind: 'INDICATOR', priceAmount: 900 });
    data[CUSTOMER_ID] = await dataOf(h.customer);
    data[OTHER_ID] = await dataOf(h.other);
    await h.server.consumer!.ready();
  });

  afterAll(async () => {
    await queue?.close();
    await h?.close();
    await cleanupRedis(prefix, ['orders', 'inventory', 'payments', 'analytics']);
  });

  it.each([
    ['a userId that is not a UUID', userDeleted('not-a-uuid')],
    ['no deletedAt', userDeleted(CUSTOMER_ID, { userId: CUSTOMER_ID })],
  ])('fails an event with %s at once, without retries, and erases nothing', async (_, event) => {
    const before = await rowsOf(CUSTOMER_ID);
    const { outcome, job } = await deliver(event);

    expect(outcome).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(await queue.getJobState(event.id)).toBe('failed');
    expect(await h.count('inbox', 'event_id = ?', [event.id])).toBe(0);
    expect(await rowsOf(CUSTOMER_ID)).toEqual(before);
  });

  it("deletes the user's cart, cancels their unpaid orders, scrubs what accounting does not need, and leaves other users as they were", async () => {
    const mine = data[CUSTOMER_ID]!;
    const before = await rowsOf(CUSTOMER_ID);
    const others = await rowsOf(OTHER_ID);
    expect(before.carts).toHaveLength(1);
    // Every PaymentRequested is sent, as a week-old one would be.
    while ((await h.server.relay!.drainOnce()) > 0);
    const methodsRequested = async (orderId: string) => (await h.outbox('PaymentRequested', orderId)).map((event) => event.data.paymentMethod);
    const othersRequested = await methodsRequested(data[OTHER_ID]!.fulfilled);
    expect(othersRequested).toHaveLength(1);
    expect(othersRequested).not.toEqual([ERASED]);

    const { outcome, result } = await deliver(userDeleted(CUSTOMER_ID));

    expect([outcome, result]).toEqual(['completed', 'processed']);
    const after = await rowsOf(CUSTOMER_ID);
    expect(after.carts).toEqual([]);
    expect(await h.count('cart_line', 'cart_id = ?', [before.carts[0]!.id])).toBe(0);

    // Unpaid orders are cancelled as the customer's own cancellation, and inventory and payments are told.
    for (const orderId of [mine.pending, mine.awaiting]) {
      const order = (await h.request(ORDER, { id: orderId }, h.admin)).data!.order;
      expect(order).toMatchObject({ status: 'CANCELLED', cancelReason: 'CUSTOMER' });
      expect(order.history.at(-1)).toMatchObject({ status: 'CANCELLED', reason: ACCOUNT_DELETED });
      expect((await h.outbox('OrderCancelled', orderId)).map((event) => event.data.reason)).toEqual(['CUSTOMER']);
    }

    // Orders and returns stay for accounting, without the payment method and the returns' free text.
    const scrubbed = (rows: Record<string, any>[], fields: Record<string, unknown>) => rows.map((row) => ({ ...row, ...fields }));
    const kept = (rows: Record<string, any>[]) => rows.map(({ status, cancel_reason, version, updated_at, closed_at, ...rest }) => rest);
    expect(after.orders.map((order) => order.payment_method)).toEqual([ERASED, ERASED, ERASED]);
    for (const orderId of [mine.fulfilled, mine.awaiting]) expect(await methodsRequested(orderId)).toEqual([ERASED]);
    expect(await methodsRequested(data[OTHER_ID]!.fulfilled)).toEqual(othersRequested);
    expect(kept(after.orders)).toEqual(kept(scrubbed(before.orders, { payment_method: ERASED })));
    expect(after.orders.find((order) => order.id === mine.fulfilled)).toMatchObject({ status: 'FULFILLED', total_amount: 5000, tracking_number: `TRK-${mine.fulfilled}` });
    expect(after.lines).toEqual(before.lines);
    expect(after.history.slice(0, before.history.length)).toEqual(before.history);
    expect(after.returns).toEqual(scrubbed(before.returns, { reason: ERASED, decision_note: null }));
    expect(after.returns[0]).toMatchObject({ id: mine.returnId, status: 'REJECTED', refund_amount: 2500, decided_by: expect.any(String) });

    expect(await rowsOf(OTHER_ID)).toEqual(others);
    expect((await h.request(ORDER, { id: data[OTHER_ID]!.pending }, h.other)).data!.order.status).toBe('PENDING');
  });

  it("never asks for payment of a deleted user's cancelled checkout when stock is reserved late", async () => {
    const { pending } = data[CUSTOMER_ID]!;
    const reservationId = randomUUID();
    const late = h.envelope('StockReserved', { orderId: pending, reservationId }, { source: 'inventory' });
    expect((await deliver(late)).result).toBe('processed');

    expect((await h.request(ORDER, { id: pending }, h.admin)).data!.order.status).toBe('CANCELLED');
    expect(await h.outbox('PaymentRequested', pending)).toEqual([]);
    // The reservation is released again, now that orders knows it.
    expect((await h.outbox('OrderCancelled', pending)).at(-1)!.data).toMatchObject({ reason: 'CUSTOMER', reservationId });
  });

  it('applies a redelivered event once, and another UserDeleted for the same or an unknown user changes nothing', async () => {
    const before = { mine: await rowsOf(CUSTOMER_ID), others: await rowsOf(OTHER_ID), outbox: await h.count('outbox') };
    const event = userDeleted(CUSTOMER_ID);
    const first = await deliver(event, `${event.id}-1`);
    const again = await deliver(event, `${event.id}-2`);
    const unknown = await deliver(userDeleted(randomUUID()));

    expect([first.result, again.result, unknown.result]).toEqual(['processed', 'duplicate', 'processed']);
    expect({ mine: await rowsOf(CUSTOMER_ID), others: await rowsOf(OTHER_ID), outbox: await h.count('outbox') }).toEqual(before);
  });
});
