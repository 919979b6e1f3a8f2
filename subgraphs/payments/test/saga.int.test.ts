import { randomUUID } from 'node:crypto';
import { createLogger, createTokenVerifier, OutboxEvent } from '../../kit/src';
import { InboxRecord, type EventEnvelope } from '../../kit/src/events';
import { testDatabaseUrl, TestIssuer } from '../../kit/src/testing';
import { readPaymentsConfig } from '../src/config';
import { PaymentEntity } from '../src/payment/payment.entity';
import { PaymentStatus, RefundStatus } from '../src/payment/payment-status';
import { cancellationRefundIdFor, paymentIdFor, returnRefundIdFor } from '../src/payment/payment.events';
import { RefundEntity } from '../src/payment/refund.entity';
import { createPaymentsServer, type PaymentsServer } from '../src/server';
import { cleanupRedis, eventQueue, jobSettled, QueueWatcher, REDIS_URL, testEnvelope, testPrefix } from '../../kit/src/events/testing';

jest.setTimeout(30_000);

/** The saga through real queues: orders' PaymentRequested on `events-payments`, replies on `events-orders`. */
describe('payments in the saga (BullMQ on Redis)', () => {
  const database = testDatabaseUrl('payments_saga');
  const prefix = testPrefix('payments');
  let server: PaymentsServer;
  let requests: ReturnType<typeof eventQueue>;
  let orders: QueueWatcher;

  const fromOrders = (type: string, data: Record<string, unknown>): EventEnvelope => testEnvelope(type, 'orders', String(data.orderId), data);
  const paymentRequested = (data: Record<string, unknown>): EventEnvelope =>
    fromOrders('PaymentRequested', { userId: 'user-1', amount: 1999, currency: 'USD', paymentMethod: 'card', items: [{ productId: 'p-1', sku: 'SKU-1', kind: 'PLAN', quantity: 1, unitAmount: 1999 }], ...data });
  /** A paid order's payment (development provider). */
  const paid = async () => {
    const orderId = randomUUID();
    await publish(paymentRequested({ orderId }));
    return server.orm.em.fork().findOneOrFail(PaymentEntity, { orderId });
  };
  const returnApproved = (payment: PaymentEntity, amount: number) =>
    fromOrders('ReturnApproved', { orderId: payment.orderId, returnId: randomUUID(), userId: payment.userId, paymentId: payment.id, lines: [], amount, currency: payment.currency });
  /** Publishes like the orders relay (job id = event id, retries with backoff) and waits for the consumer. */
  const publish = async (event: EventEnvelope, jobId = event.id, outcome: 'completed' | 'failed' = 'completed') => {
    const settled = jobSettled(server.consumer!.worker, outcome, jobId);
    await requests.add(event.type, event, { jobId, attempts: 3, backoff: { type: 'exponential', delay: 10 }, removeOnFail: false });
    return settled;
  };

  beforeAll(async () => {
    const issuer = await TestIssuer.create();
    // A one-second retry period, so the sweep of stalled charges runs every second.
    const config = readPaymentsConfig({ DATABASE_URL: database.url, REDIS_URL, NODE_ENV: 'test', LOG_LEVEL: 'silent', EVENTS_PREFIX: prefix, PAYMENT_CHARGE_RETRY_SECONDS: '1' });
    server = await createPaymentsServer({ config, log: createLogger('payments-saga-test', 'silent'), verifyToken: createTokenVerifier(issuer.keys) });
    await server.listen(0);
    await server.consumer!.ready();
    requests = eventQueue('payments', prefix);
    orders = new QueueWatcher('orders', prefix);
  });

  afterAll(async () => {
    await orders?.close();
    await requests?.close();
    await server?.close();
    await cleanupRedis(prefix, ['payments', 'orders', 'analytics']);
    await database.drop();
  });

  it('answers PaymentRequested with PaymentSucceeded on the orders queue', async () => {
    const orderId = randomUUID();
    const event = paymentRequested({ orderId });
    const { result } = await publish(event);
    expect(result).toBe('processed');

    const reply = await orders.next((item) => item.type === 'PaymentSucceeded' && item.data.orderId === orderId);
    const payment = await server.orm.em.fork().findOneOrFail(PaymentEntity, { orderId });
    expect(reply).toMatchObject({ source: 'payments', subject: orderId, version: 1, data: { orderId, paymentId: payment.id, amount: 1999, currency: 'USD' } });
    expect(payment).toMatchObject({ status: 'SUCCEEDED', items: [{ productId: 'p-1', kind: 'PLAN', quantity: 1 }] });
    expect(await server.orm.em.fork().findOneOrFail(InboxRecord, { eventId: event.id })).toMatchObject({ type: 'PaymentRequested', source: 'orders' });
    const outbox = await server.orm.em.fork().findOneOrFail(OutboxEvent, { id: reply.id });
    expect(outbox.publishedAt).not.toBeNull();
  });

  it('applies a redelivered PaymentRequested once', async () => {
    const orderId = randomUUID();
    const event = paymentRequested({ orderId });
    expect((await publish(event)).result).toBe('processed');
    expect((await publish(event, `${event.id}-again`)).result).toBe('duplicate');
    // A new request for the same order (another event id) creates nothing new either.
    expect((await publish(paymentRequested({ orderId }))).result).toBe('processed');
    expect(await server.orm.em.fork().count(PaymentEntity, { orderId })).toBe(1);
    expect(await server.orm.em.fork().count(OutboxEvent, { subject: orderId })).toBe(1);
  });

  it('answers a declined payment with PaymentFailed', async () => {
    const orderId = randomUUID();
    await publish(paymentRequested({ orderId, paymentMethod: 'dev-decline' }));
    const reply = await orders.next((item) => item.type === 'PaymentFailed' && item.data.orderId === orderId);
    expect(reply.data).toMatchObject({ orderId, reason: 'card_declined' });
  });

  it('fails a malformed PaymentRequested at once, without retries, writing nothing', async () => {
    const orderId = randomUUID();
    const event = paymentRequested({ orderId, amount: -5 });
    const { job } = await publish(event, event.id, 'failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/Invalid PaymentRequested/);
    expect(await server.orm.em.fork().count(PaymentEntity, { orderId })).toBe(0);
    expect(await server.orm.em.fork().count(InboxRecord, { eventId: event.id })).toBe(0);
  });

  it('answers ReturnApproved with RefundIssued on the orders queue, and a redelivery refunds nothing more', async () => {
    const payment = await paid();
    const event = returnApproved(payment, 500);
    expect((await publish(event)).result).toBe('processed');
    const reply = await orders.next((item) => item.type === 'RefundIssued' && item.data.orderId === payment.orderId);
    const refundId = returnRefundIdFor(String(event.data.returnId));
    expect(reply).toMatchObject({ source: 'payments', subject: payment.orderId, data: { orderId: payment.orderId, userId: payment.userId, paymentId: payment.id, refundId, amount: 500, currency: 'USD' } });

    expect((await publish(event, `${event.id}-again`)).result).toBe('duplicate');
    expect((await publish({ ...event, id: randomUUID() })).result).toBe('processed');
    expect(await server.orm.em.fork().count(RefundEntity, { paymentId: payment.id })).toBe(1);
    expect(await server.orm.em.fork().count(OutboxEvent, { subject: payment.orderId, type: 'RefundIssued' })).toBe(1);
  });

  it('leaves an over-refund in the failed set at once, without retries, writing nothing', async () => {
    const payment = await paid();
    const event = returnApproved(payment, 2000);
    const { job } = await publish(event, event.id, 'failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/Refund refused \(over_refund\): cannot refund 2000: only 1999 of 1999 USD/);
    expect(await server.orm.em.fork().count(RefundEntity, { paymentId: payment.id })).toBe(0);
    expect(await server.orm.em.fork().count(InboxRecord, { eventId: event.id })).toBe(0);
  });

  it('answers OrderCancelled of a paid order with a full refund (RefundIssued on the orders queue)', async () => {
    const payment = await paid();
    expect((await publish(fromOrders('OrderCancelled', { orderId: payment.orderId, reason: 'EXPIRED', lines: [] }))).result).toBe('processed');
    const reply = await orders.next((item) => item.type === 'RefundIssued' && item.data.orderId === payment.orderId);
    expect(reply.data).toEqual({ orderId: payment.orderId, userId: payment.userId, paymentId: payment.id, refundId: cancellationRefundIdFor(payment.orderId), amount: 1999, currency: 'USD' });
    expect(await server.orm.em.fork().findOneOrFail(PaymentEntity, { id: payment.id })).toMatchObject({ status: 'REFUNDED', refundedAmount: 1999 });
  });

  it('charges a payment whose charge was lost (its process stopped after the claim): the sweep asks the provider', async () => {
    const orderId = randomUUID();
    const claimedAt = new Date(Date.now() - 60_000);
    const em = server.orm.em.fork();
    em.create(PaymentEntity, {
      id: paymentIdFor(orderId),
      orderId,
      userId: 'user-1',
      amount: 1999,
      currency: 'USD',
      status: PaymentStatus.PENDING,
      provider: 'dev',
      paymentMethod: 'card',
      refundedAmount: 0,
      items: null,
      createdAt: claimedAt,
      updatedAt: claimedAt,
    });
    await em.flush();

    const reply = await orders.next((item) => item.type === 'PaymentSucceeded' && item.data.orderId === orderId);
    expect(reply.data).toEqual({ orderId, paymentId: paymentIdFor(orderId), amount: 1999, currency: 'USD' });
    expect(await server.orm.em.fork().findOneOrFail(PaymentEntity, { orderId })).toMatchObject({ status: 'SUCCEEDED', providerPaymentId: `dev_pi_${paymentIdFor(orderId)}` });
  });

  it('sends a refund recorded but never sent (its process stopped before asking): the sweep asks the provider', async () => {
    const payment = await paid();
    const refundId = randomUUID();
    const recordedAt = new Date(Date.now() - 60_000);
    const em = server.orm.em.fork();
    em.create(RefundEntity, {
      id: refundId,
      paymentId: payment.id,
      amount: 500,
      currency: payment.currency,
      status: RefundStatus.PENDING,
      reason: 'Return approved',
      providerRefundId: null,
      failureReason: null,
      returnId: null,
      requestedBy: 'orders',
      createdAt: recordedAt,
      updatedAt: recordedAt,
    });
    await em.flush();

    const reply = await orders.next((item) => item.type === 'RefundIssued' && item.data.refundId === refundId);
    expect(reply.data).toEqual({ orderId: payment.orderId, userId: payment.userId, paymentId: payment.id, refundId, amount: 500, currency: 'USD' });
    expect(await server.orm.em.fork().findOneOrFail(RefundEntity, { id: refundId })).toMatchObject({ status: 'SUCCEEDED', providerRefundId: `dev_re_${refundId}` });
    expect(await server.orm.em.fork().findOneOrFail(PaymentEntity, { id: payment.id })).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmount: 500 });
  });

  it('reports Redis in /ready', async () => {
    const address = server.httpServer.address() as { port: number };
    const ready = await (await fetch(`http://127.0.0.1:${address.port}/ready`)).json();
    expect(ready).toMatchObject({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });
  });
});
