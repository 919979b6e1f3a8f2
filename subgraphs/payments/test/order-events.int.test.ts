import { randomUUID } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { createLogger, createTokenVerifier, OutboxEvent } from '../../kit/src';
import { applyEvent, testEnvelope } from '../../kit/src/events/testing';
import { graphqlRequest, testDatabaseUrl, TestIssuer } from '../../kit/src/testing';
import { readPaymentsConfig } from '../src/config';
import { DevPaymentProvider } from '../src/payment/dev.provider';
import { PaymentEntity } from '../src/payment/payment.entity';
import {
  cancellationRefundIdempotencyKey,
  cancellationRefundIdFor,
  InvalidEventError,
  paymentCancelIdempotencyKey,
  RefundRefusedError,
  returnRefundIdempotencyKey,
  returnRefundIdFor,
  type EventEnvelope,
} from '../src/payment/payment.events';
import { createPaymentMetrics } from '../src/payment/payment.metrics';
import type { CreatePaymentInput, PaymentAttempt } from '../src/payment/payment.provider';
import { PaymentService } from '../src/payment/payment.service';
import { RefundEntity } from '../src/payment/refund.entity';
import { createPaymentsServer, type PaymentsServer } from '../src/server';
import { FakeStripe } from './support/fake-stripe';
import { chargeRefundedEvent, intentFailedEvent, intentSucceededEvent, newEventId, refundUpdatedEvent, sendWebhook, type Json } from './support/stripe-webhooks';

/**
 * The refunds the order saga asks for (ReturnApproved, OrderCancelled), handler by handler: each
 * event is delivered the way the consumer does, its handler inside one transaction.
 */

const WEBHOOK_SECRET = 'whsec_test_order_events_0123456789';

const envelope = (type: string, data: Record<string, unknown>): EventEnvelope => testEnvelope(type, 'orders', String(data.orderId), data);
const paymentRequested = (data: Record<string, unknown>) =>
  envelope('PaymentRequested', { userId: 'user-1', amount: 1000, currency: 'USD', paymentMethod: 'card', ...data });
const returnApproved = (payment: PaymentEntity, data: Record<string, unknown> = {}) =>
  envelope('ReturnApproved', {
    orderId: payment.orderId,
    returnId: randomUUID(),
    userId: payment.userId,
    paymentId: payment.id,
    lines: [{ productId: 'p-1', kind: 'GOOD', quantity: 1 }],
    amount: 400,
    currency: payment.currency,
    ...data,
  });
const orderCancelled = (orderId: string, reason = 'EXPIRED') => envelope('OrderCancelled', { orderId, reason, lines: [{ productId: 'p-1', kind: 'GOOD', quantity: 1 }], reservationId: randomUUID() });

/** What a test needs of a running payments server. */
function harness(server: () => PaymentsServer) {
  const fork = () => server().orm.em.fork();
  return {
    deliver: (event: EventEnvelope) => applyEvent(server().orm.em, server().eventHandlers[event.type]!, event),
    /** The handler's own result (the event handlers return nothing). */
    cancel: (event: EventEnvelope) => server().service.cancelOrderPayment(fork(), event.data, { eventId: event.id }),
    paymentOf: (orderId: string) => fork().findOneOrFail(PaymentEntity, { orderId }),
    refundsOf: (paymentId: string) => fork().find(RefundEntity, { paymentId }, { orderBy: { createdAt: 'asc' } }),
    outboxOf: (orderId: string) => fork().find(OutboxEvent, { subject: orderId }, { orderBy: { occurredAt: 'asc' } }),
    outboxTypes: async (orderId: string) => (await fork().find(OutboxEvent, { subject: orderId }, { orderBy: { occurredAt: 'asc' } })).map((event) => event.type),
  };
}

const failureOf = (promise: Promise<unknown>): Promise<unknown> => promise.then(
  () => {
    throw new Error('expected the handler to fail');
  },
  (error: unknown) => error,
);

describe('order saga refunds on the development provider', () => {
  const database = testDatabaseUrl('payments_order_events_dev');
  let server: PaymentsServer;
  let base: string;
  const { deliver, cancel, paymentOf, refundsOf, outboxOf, outboxTypes } = harness(() => server);

  const pay = async (data: Record<string, unknown> = {}) => {
    const event = paymentRequested({ orderId: randomUUID(), ...data });
    await deliver(event);
    return paymentOf(String(event.data.orderId));
  };

  beforeAll(async () => {
    const issuer = await TestIssuer.create();
    const config = readPaymentsConfig({ DATABASE_URL: database.url, NODE_ENV: 'test', LOG_LEVEL: 'silent', EVENTS_ENABLED: 'false' });
    server = await createPaymentsServer({ config, log: createLogger('payments-order-events-test', 'silent'), verifyToken: createTokenVerifier(issuer.keys) });
    base = (await server.listen(0)).replace('/graphql', '');
  });

  afterAll(async () => {
    await server?.close();
    await database.drop();
  });

  describe('ReturnApproved', () => {
    it('refunds the return at once: a SUCCEEDED refund tied to the return, and RefundIssued', async () => {
      const payment = await pay({ amount: 1000 });
      const event = returnApproved(payment, { amount: 400 });
      const returnId = String(event.data.returnId);
      await deliver(event);

      const refundId = returnRefundIdFor(returnId);
      expect(await refundsOf(payment.id)).toEqual([
        expect.objectContaining({ id: refundId, returnId, amount: 400, currency: 'USD', status: 'SUCCEEDED', requestedBy: 'orders', providerRefundId: `dev_re_${refundId}` }),
      ]);
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmount: 400 });
      const events = await outboxOf(payment.orderId);
      expect(events.map((item) => [item.type, item.source, item.data])).toEqual([
        ['PaymentSucceeded', 'payments', expect.anything()],
        ['RefundIssued', 'payments', { orderId: payment.orderId, userId: payment.userId, paymentId: payment.id, refundId, amount: 400, currency: 'USD' }],
      ]);
    });

    it('refunds a return once however often it comes: the same event, another event id, several at once', async () => {
      const payment = await pay({ amount: 1000 });
      const event = returnApproved(payment, { amount: 300 });
      await deliver(event);
      await deliver(event);
      await deliver({ ...event, id: randomUUID() });
      await Promise.all([1, 2, 3].map(() => deliver({ ...event, id: randomUUID() })));

      expect((await refundsOf(payment.id)).map((refund) => [refund.returnId, refund.amount])).toEqual([[event.data.returnId, 300]]);
      expect(await paymentOf(payment.orderId)).toMatchObject({ refundedAmount: 300 });
      expect(await outboxTypes(payment.orderId)).toEqual(['PaymentSucceeded', 'RefundIssued']);
    });

    it('refuses an over-refund for good (unrecoverable, nothing written) and refunds what fits', async () => {
      const payment = await pay({ amount: 1000 });
      await deliver(returnApproved(payment, { amount: 700 }));

      const over = returnApproved(payment, { amount: 400 });
      const error = await failureOf(deliver(over));
      expect(error).toBeInstanceOf(RefundRefusedError);
      expect(error).toBeInstanceOf(UnrecoverableError);
      expect(error).toMatchObject({ code: 'over_refund' });
      expect((error as Error).message).toMatch(/only 300 of 1000 USD/);
      expect(await server.orm.em.fork().count(RefundEntity, { returnId: String(over.data.returnId) })).toBe(0);

      await deliver(returnApproved(payment, { amount: 300 }));
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'REFUNDED', refundedAmount: 1000 });

      // Nothing is left: even one cent more is refused.
      expect(await failureOf(deliver(returnApproved(payment, { amount: 1 })))).toMatchObject({ code: 'over_refund' });
      expect((await refundsOf(payment.id)).map((refund) => refund.amount)).toEqual([700, 300]);
      expect(await outboxTypes(payment.orderId)).toEqual(['PaymentSucceeded', 'RefundIssued', 'RefundIssued']);

      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/payment_refunds_total\{[^}]*provider="dev"[^}]*outcome="refused"[^}]*\} [1-9]/);
    });

    it('refuses returns of an order without payment, of another payment or of a declined one', async () => {
      const payment = await pay();
      const nowhere = await failureOf(deliver(returnApproved(payment, { orderId: randomUUID() })));
      expect(nowhere).toMatchObject({ name: 'RefundRefusedError', code: 'no_payment' });
      const other = await failureOf(deliver(returnApproved(payment, { paymentId: randomUUID() })));
      expect(other).toMatchObject({ code: 'payment_mismatch' });
      const currency = await failureOf(deliver(returnApproved(payment, { currency: 'EUR' })));
      expect(currency).toMatchObject({ code: 'payment_mismatch' });

      const declined = await pay({ paymentMethod: 'dev-decline' });
      expect(await failureOf(deliver(returnApproved(declined)))).toMatchObject({ code: 'not_paid' });
      expect(await refundsOf(payment.id)).toEqual([]);
      expect(await refundsOf(declined.id)).toEqual([]);
    });

    it('skips a return with nothing to refund and fails a malformed one at once', async () => {
      const payment = await pay();
      await deliver(returnApproved(payment, { amount: 0 }));
      expect(await refundsOf(payment.id)).toEqual([]);

      const malformed = await failureOf(deliver(returnApproved(payment, { returnId: '', amount: -1, currency: 'dollars' })));
      expect(malformed).toBeInstanceOf(InvalidEventError);
      expect(malformed).toBeInstanceOf(UnrecoverableError);
      expect((malformed as Error).message).toMatch(/^Invalid ReturnApproved: returnId[\s\S]*amount[\s\S]*currency/);
    });

    it('finds the payment by order when orders sent no paymentId', async () => {
      const payment = await pay();
      await deliver(returnApproved(payment, { paymentId: null, amount: 100 }));
      expect((await refundsOf(payment.id)).map((refund) => refund.amount)).toEqual([100]);
    });
  });

  describe('OrderCancelled', () => {
    it('refunds what is left of a payment that succeeded anyway, once', async () => {
      const payment = await pay({ amount: 1000 });
      await deliver(returnApproved(payment, { amount: 300 }));

      expect(await cancel(orderCancelled(payment.orderId))).toBe('refunded');
      const refundId = cancellationRefundIdFor(payment.orderId);
      expect((await refundsOf(payment.id)).map((refund) => [refund.id === refundId, refund.amount, refund.status, refund.returnId])).toEqual([
        [false, 300, 'SUCCEEDED', expect.any(String)],
        [true, 700, 'SUCCEEDED', null],
      ]);
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'REFUNDED', refundedAmount: 1000 });
      const events = await outboxOf(payment.orderId);
      expect(events.map((item) => item.type)).toEqual(['PaymentSucceeded', 'RefundIssued', 'RefundIssued']);
      expect(events[2]!.data).toEqual({ orderId: payment.orderId, userId: payment.userId, paymentId: payment.id, refundId, amount: 700, currency: 'USD' });

      // Orders may send OrderCancelled again (a reservation released late): nothing more happens.
      expect(await cancel(orderCancelled(payment.orderId))).toBe('unchanged');
      await deliver(orderCancelled(payment.orderId));
      expect(await refundsOf(payment.id)).toHaveLength(2);
      expect(await outboxOf(payment.orderId)).toHaveLength(3);
    });

    it('leaves a declined payment as it is, without events', async () => {
      const payment = await pay({ paymentMethod: 'dev-decline' });
      expect(await cancel(orderCancelled(payment.orderId, 'PAYMENT_FAILED'))).toBe('unchanged');
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'FAILED', failureReason: 'card_declined' });
      expect(await outboxTypes(payment.orderId)).toEqual(['PaymentFailed']);
    });

    it('never charges an order whose OrderCancelled arrived before its PaymentRequested', async () => {
      const orderId = randomUUID();
      expect(await cancel(orderCancelled(orderId, 'CUSTOMER'))).toBe('no_payment');
      await deliver(paymentRequested({ orderId }));
      expect(await paymentOf(orderId)).toMatchObject({ status: 'CANCELLED', failureReason: 'order_cancelled', providerPaymentId: null });
      expect(await outboxOf(orderId)).toEqual([]);
    });

    it('refunds money the provider took while the order was being cancelled; the cancellation never waits on the provider', async () => {
      // The development provider, answering only when the test lets it.
      let arrived!: () => void;
      let answer!: () => void;
      const asked = new Promise<void>((resolve) => (arrived = resolve));
      const answered = new Promise<void>((resolve) => (answer = resolve));
      class SlowDevProvider extends DevPaymentProvider {
        override async createPayment(input: CreatePaymentInput): Promise<PaymentAttempt> {
          arrived();
          await answered;
          return super.createPayment(input);
        }
      }
      const slow = new PaymentService({ provider: new SlowDevProvider(), metrics: createPaymentMetrics(), log: createLogger('payments-test', 'silent') });
      const orderId = randomUUID();
      const charging = slow.requestPayment(server.orm.em.fork(), paymentRequested({ orderId }).data);
      await asked;

      expect(await cancel(orderCancelled(orderId, 'CUSTOMER'))).toBe('cancelled');
      answer();
      await charging;

      const payment = await paymentOf(orderId);
      expect(payment).toMatchObject({ status: 'REFUNDED', refundedAmount: 1000, providerPaymentId: `dev_pi_${payment.id}` });
      expect((await refundsOf(payment.id)).map((refund) => [refund.id, refund.amount, refund.status])).toEqual([[cancellationRefundIdFor(orderId), 1000, 'SUCCEEDED']]);
      expect(await outboxTypes(orderId)).toEqual(['PaymentSucceeded', 'RefundIssued']);

      // Charging the payment again (the sweep racing the first charge) changes nothing.
      expect(await server.service.charge(server.orm.em, payment.id)).toMatchObject({ status: 'REFUNDED' });
      expect(await outboxTypes(orderId)).toEqual(['PaymentSucceeded', 'RefundIssued']);
    });

    it('keeps no money when PaymentRequested and OrderCancelled are handled at the same time', async () => {
      for (let round = 0; round < 5; round += 1) {
        const orderId = randomUUID();
        await Promise.all([deliver(paymentRequested({ orderId })), deliver(orderCancelled(orderId))]);
        const payment = await paymentOf(orderId);
        const types = await outboxTypes(orderId);
        // Either the cancellation came first (never charged) or second (charged, then refunded in full).
        if (payment.status === 'CANCELLED') expect(types).toEqual([]);
        else expect([payment.status, payment.refundedAmount, types]).toEqual(['REFUNDED', 1000, ['PaymentSucceeded', 'RefundIssued']]);
      }
    });

    it('fails a malformed OrderCancelled at once', async () => {
      const error = await failureOf(deliver(envelope('OrderCancelled', { orderId: 'has space', reason: '' })));
      expect(error).toBeInstanceOf(InvalidEventError);
      expect((error as Error).message).toMatch(/^Invalid OrderCancelled: orderId[\s\S]*reason/);
    });
  });
});

describe('order saga refunds on Stripe (fake Stripe at the HTTP boundary)', () => {
  const database = testDatabaseUrl('payments_order_events_stripe');
  let fake: FakeStripe;
  let server: PaymentsServer;
  let url: string;
  let base: string;
  let owner: string;
  const ownerId = `user-${randomUUID()}`;
  const { deliver, cancel, paymentOf, refundsOf, outboxOf, outboxTypes } = harness(() => server);

  const webhook = (event: Json) => sendWebhook(base, server.stripe!, WEBHOOK_SECRET, event);
  const intentOf = (payment: PaymentEntity) => fake.intents.get(payment.providerPaymentId!)!;
  const stripeRefundOf = (refundId: string) => [...fake.refunds.values()].find((refund) => refund.metadata.refundId === refundId)!;
  const callsFor = (route: string, orderId: string) => fake.requestsTo(route).filter((item) => (item.params.metadata as Json)?.orderId === orderId);
  const cancelCalls = (payment: PaymentEntity) => fake.requestsTo(`POST /v1/payment_intents/${payment.providerPaymentId}/cancel`);

  /** A payment waiting for the customer (REQUIRES_ACTION). */
  const requested = async (data: Record<string, unknown> = {}) => {
    const event = paymentRequested({ orderId: randomUUID(), userId: ownerId, ...data });
    await deliver(event);
    return paymentOf(String(event.data.orderId));
  };
  /** A payment the customer confirmed, its webhook delivered (SUCCEEDED). */
  const paid = async (data: Record<string, unknown> = {}) => {
    const payment = await requested(data);
    expect((await webhook(intentSucceededEvent(fake.succeedIntent(payment.providerPaymentId!)))).body.outcome).toBe('applied');
    return paymentOf(payment.orderId);
  };

  beforeAll(async () => {
    fake = await FakeStripe.start('sk_test_order_events');
    const issuer = await TestIssuer.create();
    const config = readPaymentsConfig({
      DATABASE_URL: database.url,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      STRIPE_SECRET_KEY: 'sk_test_order_events',
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_BASE: fake.apiBase,
      STRIPE_MAX_NETWORK_RETRIES: '1',
      EVENTS_ENABLED: 'false',
    });
    server = await createPaymentsServer({ config, log: createLogger('payments-order-events-test', 'silent'), verifyToken: createTokenVerifier(issuer.keys) });
    url = await server.listen(0);
    base = url.replace('/graphql', '');
    owner = await issuer.sign(ownerId, 'CUSTOMER');
  });

  afterAll(async () => {
    await server?.close();
    await fake?.close();
    await database.drop();
  });

  describe('ReturnApproved', () => {
    it('creates a Stripe refund keyed by the return, PENDING until the webhook, then RefundIssued', async () => {
      const payment = await paid({ amount: 1000 });
      const event = returnApproved(payment, { amount: 400 });
      const returnId = String(event.data.returnId);
      const refundId = returnRefundIdFor(returnId);
      await deliver(event);

      expect(callsFor('POST /v1/refunds', payment.orderId)).toEqual([
        expect.objectContaining({
          idempotencyKey: returnRefundIdempotencyKey(returnId),
          params: { payment_intent: payment.providerPaymentId, amount: '400', metadata: { refundId, paymentId: payment.id, orderId: payment.orderId } },
          answered: 200,
        }),
      ]);
      const stripeRefund = stripeRefundOf(refundId);
      expect(await refundsOf(payment.id)).toEqual([expect.objectContaining({ id: refundId, returnId, status: 'PENDING', providerRefundId: stripeRefund.id, amount: 400 })]);
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'SUCCEEDED', refundedAmount: 0 });
      expect(await outboxTypes(payment.orderId)).toEqual(['PaymentSucceeded']);

      // Delivered again under another event id: no second request to Stripe.
      await deliver({ ...event, id: randomUUID() });
      expect(callsFor('POST /v1/refunds', payment.orderId)).toHaveLength(1);

      expect((await webhook(chargeRefundedEvent(intentOf(payment), 400, [stripeRefund]))).body.outcome).toBe('applied');
      expect((await refundsOf(payment.id)).map((refund) => refund.status)).toEqual(['SUCCEEDED']);
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmount: 400 });
      const events = await outboxOf(payment.orderId);
      expect(events.map((item) => [item.type, item.data])).toEqual([
        ['PaymentSucceeded', expect.anything()],
        ['RefundIssued', { orderId: payment.orderId, userId: payment.userId, paymentId: payment.id, refundId, amount: 400, currency: 'USD' }],
      ]);
    });

    it('records the refund with the event and sends it once committed; while Stripe is away it waits unsent (still counted) for the sweep, which sends it once, with the same key', async () => {
      const payment = await paid({ amount: 1000 });
      const event = returnApproved(payment, { amount: 250 });
      const refundId = returnRefundIdFor(String(event.data.returnId));
      fake.failNext({ route: 'POST /v1/refunds', status: 503, times: 2 });
      await deliver(event);
      expect((await refundsOf(payment.id)).map((refund) => [refund.id, refund.amount, refund.status, refund.providerRefundId])).toEqual([[refundId, 250, 'PENDING', null]]);
      expect(await failureOf(deliver(returnApproved(payment, { amount: 800 })))).toMatchObject({ code: 'over_refund' });

      await server.service.refundStalled(server.orm.em, 0);
      const calls = callsFor('POST /v1/refunds', payment.orderId);
      expect(calls.map((item) => item.answered)).toEqual([503, 503, 200]);
      expect(new Set(calls.map((item) => item.idempotencyKey))).toEqual(new Set([returnRefundIdempotencyKey(String(event.data.returnId))]));
      expect((await refundsOf(payment.id)).map((refund) => [refund.amount, refund.status, refund.providerRefundId])).toEqual([[250, 'PENDING', expect.stringMatching(/^re_/)]]);
      // Sent: a later sweep asks Stripe nothing more.
      await server.service.refundStalled(server.orm.em, 0);
      expect(callsFor('POST /v1/refunds', payment.orderId)).toHaveLength(3);
    });

    it('holds no transaction or lock while Stripe answers: a second return of the same payment goes through meanwhile', async () => {
      const payment = await paid({ amount: 1000 });
      const held = fake.holdNext('POST /v1/refunds');
      const first = deliver(returnApproved(payment, { amount: 300 }));
      await held.arrived;

      await deliver(returnApproved(payment, { amount: 200 }));
      expect((await refundsOf(payment.id)).map((refund) => [refund.amount, refund.providerRefundId === null])).toEqual([
        [300, true],
        [200, false],
      ]);

      held.release();
      await first;
      expect((await refundsOf(payment.id)).map((refund) => [refund.amount, refund.status, refund.providerRefundId === null])).toEqual([
        [300, 'PENDING', false],
        [200, 'PENDING', false],
      ]);
    });

    it('refuses an over-refund without asking Stripe; a refund Stripe refuses is recorded FAILED, with RefundFailed, and no longer counts', async () => {
      const payment = await paid({ amount: 500 });
      expect(await failureOf(deliver(returnApproved(payment, { amount: 600 })))).toMatchObject({ code: 'over_refund' });
      expect(callsFor('POST /v1/refunds', payment.orderId)).toEqual([]);

      fake.failNext({ route: 'POST /v1/refunds', status: 400 });
      const event = returnApproved(payment, { amount: 100 });
      await deliver(event);
      const refundId = returnRefundIdFor(String(event.data.returnId));
      expect(await refundsOf(payment.id)).toEqual([
        expect.objectContaining({ id: refundId, amount: 100, status: 'FAILED', providerRefundId: null, failureReason: expect.stringMatching(/^provider_rejected: /) }),
      ]);
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'SUCCEEDED', refundedAmount: 0 });
      const failed = (await outboxOf(payment.orderId)).filter((item) => item.type === 'RefundFailed');
      expect(failed.map((item) => item.data)).toEqual([expect.objectContaining({ orderId: payment.orderId, paymentId: payment.id, refundId, amount: 100, previouslyIssued: false })]);

      await deliver(returnApproved(payment, { amount: 500 }));
      expect((await refundsOf(payment.id)).map((refund) => [refund.amount, refund.status])).toEqual([
        [100, 'FAILED'],
        [500, 'PENDING'],
      ]);
    });
  });

  describe('OrderCancelled', () => {
    it('cancels the PaymentIntent of a payment still waiting for the customer: CANCELLED, no PaymentFailed', async () => {
      const payment = await requested();
      expect(payment.status).toBe('REQUIRES_ACTION');
      expect(await cancel(orderCancelled(payment.orderId, 'EXPIRED'))).toBe('cancelled');

      expect(cancelCalls(payment)).toEqual([
        expect.objectContaining({ idempotencyKey: paymentCancelIdempotencyKey(payment.id), params: { cancellation_reason: 'abandoned' }, answered: 200 }),
      ]);
      expect(intentOf(payment)).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned' });
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'CANCELLED', failureReason: 'order_cancelled', clientSecret: null });
      expect(await outboxOf(payment.orderId)).toEqual([]);

      const read = await graphqlRequest(url, `query($id: ID!) { payment(id: $id) { status clientSecret } }`, { variables: { id: payment.id }, token: owner });
      expect(read.data!.payment).toEqual({ status: 'CANCELLED', clientSecret: null });

      // Redelivered: nothing more is asked of Stripe. A late decline reports nothing either.
      expect(await cancel(orderCancelled(payment.orderId, 'EXPIRED'))).toBe('unchanged');
      expect(cancelCalls(payment)).toHaveLength(1);
      expect((await webhook(intentFailedEvent(intentOf(payment)))).body.outcome).toBe('stale');
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'CANCELLED' });
      expect(await outboxOf(payment.orderId)).toEqual([]);

      // Stripe itself refuses to cancel a canceled intent again.
      await expect(server.stripe!.paymentIntents.cancel(payment.providerPaymentId!)).rejects.toMatchObject({ code: 'payment_intent_unexpected_state', statusCode: 400 });
    });

    it('passes the customer as the cancellation reason when the customer cancelled', async () => {
      const payment = await requested();
      await deliver(orderCancelled(payment.orderId, 'CUSTOMER'));
      expect(cancelCalls(payment)[0]!.params).toEqual({ cancellation_reason: 'requested_by_customer' });
      expect(intentOf(payment).status).toBe('canceled');
    });

    it('cancels the payment with the event and the intent once committed; while Stripe is down the cancellation stays owed until the sweep sends it, with the same key', async () => {
      const payment = await requested();
      fake.failNext({ route: `POST /v1/payment_intents/${payment.providerPaymentId}/cancel`, status: 500, times: 2 });
      await deliver(orderCancelled(payment.orderId));
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'CANCELLED', providerCancelPending: true });
      expect(cancelCalls(payment).map((item) => item.answered)).toEqual([500, 500]);
      expect(intentOf(payment).status).not.toBe('canceled');

      await server.service.cancelStalled(server.orm.em, 0);
      expect(cancelCalls(payment).map((item) => item.answered)).toEqual([500, 500, 200]);
      expect(new Set(cancelCalls(payment).map((item) => item.idempotencyKey))).toEqual(new Set([paymentCancelIdempotencyKey(payment.id)]));
      expect(intentOf(payment).status).toBe('canceled');
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'CANCELLED', providerCancelPending: false });
      await server.service.cancelStalled(server.orm.em, 0);
      expect(cancelCalls(payment)).toHaveLength(3);
    });

    it('holds no transaction or lock while Stripe cancels: a webhook for the same payment is answered meanwhile', async () => {
      const payment = await requested();
      const held = fake.holdNext(`POST /v1/payment_intents/${payment.providerPaymentId}/cancel`);
      const cancelling = deliver(orderCancelled(payment.orderId));
      await held.arrived;

      expect((await webhook(intentFailedEvent(intentOf(payment)))).body.outcome).toBe('stale');

      held.release();
      await cancelling;
      expect(intentOf(payment).status).toBe('canceled');
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'CANCELLED', providerCancelPending: false });
    });

    it('refunds in full, keyed by the order, a payment that succeeded before its order was cancelled', async () => {
      const payment = await paid({ amount: 1000 });
      expect(await cancel(orderCancelled(payment.orderId))).toBe('refunded');

      const refundId = cancellationRefundIdFor(payment.orderId);
      expect(callsFor('POST /v1/refunds', payment.orderId)).toEqual([
        expect.objectContaining({
          idempotencyKey: cancellationRefundIdempotencyKey(payment.orderId),
          params: { payment_intent: payment.providerPaymentId, amount: '1000', metadata: { refundId, paymentId: payment.id, orderId: payment.orderId } },
        }),
      ]);
      expect((await refundsOf(payment.id)).map((refund) => [refund.id, refund.status, refund.amount])).toEqual([[refundId, 'PENDING', 1000]]);
      expect(await outboxTypes(payment.orderId)).toEqual(['PaymentSucceeded']);
      expect(await cancel(orderCancelled(payment.orderId))).toBe('already_refunded');
      expect(callsFor('POST /v1/refunds', payment.orderId)).toHaveLength(1);

      expect((await webhook(chargeRefundedEvent(intentOf(payment), 1000))).body.outcome).toBe('applied');
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'REFUNDED', refundedAmount: 1000 });
      const events = await outboxOf(payment.orderId);
      expect(events.map((item) => [item.type, item.data])).toEqual([
        ['PaymentSucceeded', expect.anything()],
        ['RefundIssued', { orderId: payment.orderId, userId: payment.userId, paymentId: payment.id, refundId, amount: 1000, currency: 'USD' }],
      ]);
    });

    it('refunds automatically a payment whose success webhook arrives after the order was cancelled', async () => {
      const payment = await requested({ amount: 1500 });
      // The customer pays at the very moment the reservation expires: Stripe took the money, its webhook is on the way.
      const intent = fake.succeedIntent(payment.providerPaymentId!);
      expect(await cancel(orderCancelled(payment.orderId))).toBe('cancelled');
      expect(cancelCalls(payment).map((item) => item.answered)).toEqual([400]);
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'CANCELLED' });
      expect(await outboxOf(payment.orderId)).toEqual([]);

      const success = intentSucceededEvent(intent);
      expect((await webhook(success)).body.outcome).toBe('applied');
      const refundId = cancellationRefundIdFor(payment.orderId);
      expect(callsFor('POST /v1/refunds', payment.orderId)).toEqual([
        expect.objectContaining({ idempotencyKey: cancellationRefundIdempotencyKey(payment.orderId), params: expect.objectContaining({ amount: '1500' }) }),
      ]);
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'SUCCEEDED', failureReason: null });
      expect((await refundsOf(payment.id)).map((refund) => [refund.id, refund.status, refund.amount])).toEqual([[refundId, 'PENDING', 1500]]);
      expect(await outboxTypes(payment.orderId)).toEqual(['PaymentSucceeded']);

      // Another delivery of the success changes nothing and refunds nothing more.
      expect((await webhook({ ...success, id: newEventId() })).body.outcome).toBe('stale');
      expect(callsFor('POST /v1/refunds', payment.orderId)).toHaveLength(1);

      expect((await webhook(refundUpdatedEvent(stripeRefundOf(refundId), 'succeeded'))).body.outcome).toBe('applied');
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'REFUNDED', refundedAmount: 1500 });
      const events = await outboxOf(payment.orderId);
      expect(events.map((item) => [item.type, item.data])).toEqual([
        ['PaymentSucceeded', { orderId: payment.orderId, paymentId: payment.id, amount: 1500, currency: 'USD' }],
        ['RefundIssued', { orderId: payment.orderId, userId: payment.userId, paymentId: payment.id, refundId, amount: 1500, currency: 'USD' }],
      ]);
    });

    it('records the refund of a late success with it, and sends it once Stripe is back (the sweep), once', async () => {
      const payment = await requested();
      const intent = fake.succeedIntent(payment.providerPaymentId!);
      await deliver(orderCancelled(payment.orderId));
      const success = intentSucceededEvent(intent);

      fake.failNext({ route: 'POST /v1/refunds', status: 503, times: 2 });
      expect((await webhook(success)).body).toEqual({ received: true, duplicate: false, outcome: 'applied' });
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'SUCCEEDED' });
      expect(await outboxTypes(payment.orderId)).toEqual(['PaymentSucceeded']);
      expect((await refundsOf(payment.id)).map((refund) => [refund.amount, refund.status, refund.providerRefundId])).toEqual([[1000, 'PENDING', null]]);

      await server.service.refundStalled(server.orm.em, 0);
      expect(callsFor('POST /v1/refunds', payment.orderId).map((item) => item.answered)).toEqual([503, 503, 200]);
      expect((await refundsOf(payment.id)).map((refund) => [refund.amount, refund.providerRefundId === null])).toEqual([[1000, false]]);
      expect((await webhook(success)).body.duplicate).toBe(true);
      expect(callsFor('POST /v1/refunds', payment.orderId)).toHaveLength(3);
    });

    it('cancels the intent of a declined payment, so a cancelled order cannot be paid by retrying', async () => {
      const payment = await requested({ orderId: `decline-${randomUUID()}` });
      expect(payment).toMatchObject({ status: 'FAILED', failureReason: 'card_declined' });
      expect(await cancel(orderCancelled(payment.orderId, 'PAYMENT_FAILED'))).toBe('unchanged');
      expect(intentOf(payment).status).toBe('canceled');
      expect(await paymentOf(payment.orderId)).toMatchObject({ status: 'FAILED', failureReason: 'card_declined' });
      expect(await outboxTypes(payment.orderId)).toEqual(['PaymentFailed']);
    });

    it('never creates a PaymentIntent for an order cancelled before its PaymentRequested arrived', async () => {
      const orderId = randomUUID();
      expect(await cancel(orderCancelled(orderId))).toBe('no_payment');
      await deliver(paymentRequested({ orderId, userId: ownerId }));
      expect(fake.requestsTo('POST /v1/payment_intents').filter((item) => (item.params.metadata as Json)?.orderId === orderId)).toEqual([]);
      expect(await paymentOf(orderId)).toMatchObject({ status: 'CANCELLED', providerPaymentId: null, clientSecret: null });
      expect(await outboxOf(orderId)).toEqual([]);
    });
  });
});
