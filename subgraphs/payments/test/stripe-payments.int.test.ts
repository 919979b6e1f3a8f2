import { randomUUID } from 'node:crypto';
import { createLogger, createTokenVerifier, OutboxEvent } from '../../kit/src';
import { applyEvent, testEnvelope } from '../../kit/src/events/testing';
import { graphqlRequest, testDatabaseUrl, TestIssuer } from '../../kit/src/testing';
import { readPaymentsConfig } from '../src/config';
import { PaymentEntity } from '../src/payment/payment.entity';
import { paymentIdempotencyKey, paymentIdFor, refundIdempotencyKey, type EventEnvelope } from '../src/payment/payment.events';
import { RefundEntity } from '../src/payment/refund.entity';
import { StripeEventEntity } from '../src/payment/stripe-event.entity';
import { createPaymentsServer, type PaymentsServer } from '../src/server';
import { FakeStripe, type FakePaymentIntent } from './support/fake-stripe';
import {
  chargeRefundedEvent,
  eventFixtureFiles,
  intentFailedEvent,
  intentSucceededEvent,
  loadFixture,
  newEventId,
  refundUpdatedEvent,
  sendWebhook,
  type Json,
} from './support/stripe-webhooks';

const WEBHOOK_SECRET = 'whsec_test_payments_0123456789';
const PAYMENT = `query($id: ID!) {
  payment(id: $id) { id orderId status amount { amount currency } provider clientSecret refunds { id amount { amount currency } status reason } }
}`;
const REFUND = `mutation($paymentId: ID!, $amount: Int!, $reason: String) {
  refundPayment(paymentId: $paymentId, amount: $amount, reason: $reason) { id amount { amount currency } status reason }
}`;

describe('payments subgraph on Stripe (fake Stripe at the HTTP boundary)', () => {
  const database = testDatabaseUrl('payments_stripe');
  let fake: FakeStripe;
  let server: PaymentsServer;
  let url: string;
  let base: string;
  let issuer: TestIssuer;
  let admin: string;
  let owner: string;
  let stranger: string;
  const ownerId = `user-${randomUUID()}`;

  const envelope = (data: Record<string, unknown>): EventEnvelope => testEnvelope('PaymentRequested', 'orders', String(data.orderId), data);
  const request = (overrides: Record<string, unknown> = {}) => ({ orderId: randomUUID(), userId: ownerId, amount: 1000, currency: 'USD', paymentMethod: 'card', ...overrides });
  const deliver = (event: EventEnvelope) => applyEvent(server.orm.em, server.eventHandlers.PaymentRequested!, event);
  const paymentOf = async (orderId: string) => server.orm.em.fork().findOne(PaymentEntity, { orderId });
  const outboxOf = (orderId: string) => server.orm.em.fork().find(OutboxEvent, { subject: orderId }, { orderBy: { occurredAt: 'asc' } });
  const outboxTypes = async (orderId: string) => (await outboxOf(orderId)).map((event) => event.type);
  const refundsOf = (paymentId: string) => server.orm.em.fork().find(RefundEntity, { paymentId }, { orderBy: { createdAt: 'asc' } });
  const webhook = (event: Json, options?: Parameters<typeof sendWebhook>[4]) => sendWebhook(base, server.stripe!, WEBHOOK_SECRET, event, options);
  const intentOf = (payment: PaymentEntity): FakePaymentIntent => fake.intents.get(payment.providerPaymentId!)!;
  const refund = (paymentId: string, amount: number, token: string = admin, reason?: string) => graphqlRequest(url, REFUND, { variables: { paymentId, amount, reason }, token });

  /** A payment waiting for the customer (REQUIRES_ACTION), with its PaymentIntent on the fake. */
  const requested = async (overrides: Record<string, unknown> = {}) => {
    const data = request(overrides);
    await deliver(envelope(data));
    return (await paymentOf(data.orderId))!;
  };
  /** A payment the customer confirmed: the fake's intent succeeded and its webhook was delivered. */
  const paid = async (overrides: Record<string, unknown> = {}) => {
    const payment = await requested(overrides);
    const intent = fake.succeedIntent(payment.providerPaymentId!);
    const response = await webhook(intentSucceededEvent(intent));
    expect(response).toEqual({ status: 200, body: { received: true, duplicate: false, outcome: 'applied' } });
    return (await paymentOf(payment.orderId))!;
  };

  beforeAll(async () => {
    fake = await FakeStripe.start('sk_test_payments');
    issuer = await TestIssuer.create();
    const config = readPaymentsConfig({
      DATABASE_URL: database.url,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      STRIPE_SECRET_KEY: 'sk_test_payments',
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_BASE: fake.apiBase,
      STRIPE_MAX_NETWORK_RETRIES: '1',
      EVENTS_ENABLED: 'false',
    });
    server = await createPaymentsServer({ config, log: createLogger('payments-test', 'silent'), verifyToken: createTokenVerifier(issuer.keys) });
    url = await server.listen(0);
    base = url.replace('/graphql', '');
    admin = await issuer.sign('admin-1', 'ADMIN');
    owner = await issuer.sign(ownerId, 'CUSTOMER');
    stranger = await issuer.sign('someone-else', 'CUSTOMER');
  });

  afterAll(async () => {
    await server?.close();
    await fake?.close();
    await database.drop();
  });

  describe('PaymentRequested', () => {
    it('creates a PaymentIntent with an idempotency key and waits for the customer (REQUIRES_ACTION)', async () => {
      const data = request({ amount: 4200, currency: 'EUR' });
      const before = fake.requestsTo('POST /v1/payment_intents').length;
      await deliver(envelope(data));

      const payment = (await paymentOf(data.orderId))!;
      const intent = intentOf(payment);
      expect(payment).toMatchObject({
        id: paymentIdFor(data.orderId),
        status: 'REQUIRES_ACTION',
        provider: 'stripe',
        amount: 4200,
        currency: 'EUR',
        providerPaymentId: intent.id,
        clientSecret: intent.client_secret,
      });
      const creates = fake.requestsTo('POST /v1/payment_intents').slice(before);
      expect(creates).toHaveLength(1);
      expect(creates[0]).toMatchObject({
        idempotencyKey: paymentIdempotencyKey({ orderId: data.orderId, amount: 4200, currency: 'EUR' }),
        authorization: 'Bearer sk_test_payments',
        params: { amount: '4200', currency: 'eur', metadata: { orderId: data.orderId, paymentId: payment.id }, automatic_payment_methods: { enabled: 'true' } },
      });
      expect(await outboxOf(data.orderId)).toHaveLength(0);
    });

    it('shows the client secret to the owner only', async () => {
      const payment = await requested();
      const mine = await graphqlRequest(url, PAYMENT, { variables: { id: payment.id }, token: owner });
      expect(mine.data!.payment).toMatchObject({ status: 'REQUIRES_ACTION', provider: 'stripe', clientSecret: intentOf(payment).client_secret });
      expect((await graphqlRequest(url, PAYMENT, { variables: { id: payment.id }, token: admin })).data!.payment).toMatchObject({ id: payment.id, clientSecret: null });
      expect((await graphqlRequest(url, PAYMENT, { variables: { id: payment.id }, token: stranger })).data!.payment).toBeNull();
    });

    it('creates one payment and one PaymentIntent when the request is delivered twice', async () => {
      const data = request();
      const before = fake.intents.size;
      await deliver(envelope(data));
      await deliver(envelope(data));
      expect(await server.orm.em.fork().count(PaymentEntity, { orderId: data.orderId })).toBe(1);
      expect(fake.intents.size).toBe(before + 1);
      const keys = fake.requestsTo('POST /v1/payment_intents').filter((item) => (item.params.metadata as Json)?.orderId === data.orderId);
      expect(keys).toHaveLength(1);
    });

    it('lets the SDK retry a 500 with the same idempotency key: one PaymentIntent', async () => {
      const data = request();
      fake.failNext({ route: 'POST /v1/payment_intents', status: 500 });
      await deliver(envelope(data));
      const attempts = fake.requestsTo('POST /v1/payment_intents').filter((item) => (item.params.metadata as Json)?.orderId === data.orderId);
      expect(attempts.map((item) => item.answered)).toEqual([500, 200]);
      expect(new Set(attempts.map((item) => item.idempotencyKey))).toEqual(new Set([paymentIdempotencyKey(data)]));
      expect((await paymentOf(data.orderId))!.status).toBe('REQUIRES_ACTION');
    });

    it('leaves the payment PENDING through a lasting outage; the sweep asks again with the same key: one PaymentIntent', async () => {
      const data = request();
      fake.failNext({ route: 'POST /v1/payment_intents', status: 503, times: 2 });
      await deliver(envelope(data));
      const claimed = (await paymentOf(data.orderId))!;
      expect(claimed).toMatchObject({ status: 'PENDING', providerPaymentId: null });
      expect(await outboxOf(data.orderId)).toHaveLength(0);
      // Not stalled yet: the sweep leaves it alone.
      expect(await server.service.chargeStalled(server.orm.em, 3600)).toBe(0);

      expect(await server.service.chargeStalled(server.orm.em, 0)).toBeGreaterThanOrEqual(1);
      const payment = (await paymentOf(data.orderId))!;
      expect(payment.status).toBe('REQUIRES_ACTION');
      const attempts = fake.requestsTo('POST /v1/payment_intents').filter((item) => (item.params.metadata as Json)?.orderId === data.orderId);
      expect(attempts.map((item) => item.answered)).toEqual([503, 503, 200]);
      expect(attempts.every((item) => item.idempotencyKey === paymentIdempotencyKey(data))).toBe(true);
      expect(attempts.every((item) => (item.params.metadata as Json).paymentId === payment.id)).toBe(true);
    });

    it('holds no transaction or lock while Stripe answers: an OrderCancelled meanwhile is applied at once, and the intent is cancelled once Stripe answers', async () => {
      const data = request();
      const held = fake.holdNext('POST /v1/payment_intents');
      const delivered = deliver(envelope(data));
      await held.arrived;
      // The payment was claimed and committed before Stripe was asked.
      expect(await paymentOf(data.orderId)).toMatchObject({ status: 'PENDING' });
      const cancelled = await server.service.cancelOrderPayment(server.orm.em.fork(), { orderId: data.orderId, reason: 'CUSTOMER', lines: [] });
      expect(cancelled).toBe('cancelled');

      held.release();
      await delivered;
      const payment = (await paymentOf(data.orderId))!;
      expect(payment).toMatchObject({ status: 'CANCELLED', failureReason: 'order_cancelled' });
      expect(intentOf(payment).status).toBe('canceled');
      expect(fake.requestsTo(`POST /v1/payment_intents/${payment.providerPaymentId}/cancel`)).toHaveLength(1);
      // Nothing for orders: the order is cancelled already and no money moved.
      expect(await outboxOf(data.orderId)).toHaveLength(0);
    });

    it('fails the payment on a card decline (402): FAILED and PaymentFailed, no retry', async () => {
      const data = request({ orderId: `decline-${randomUUID()}` });
      await deliver(envelope(data));
      const payment = (await paymentOf(data.orderId))!;
      expect(payment).toMatchObject({ status: 'FAILED', failureReason: 'card_declined' });
      expect((await outboxOf(data.orderId)).map((event) => [event.type, event.data])).toEqual([
        ['PaymentFailed', { orderId: data.orderId, paymentId: payment.id, reason: 'card_declined' }],
      ]);
      expect(fake.requestsTo('POST /v1/payment_intents').filter((item) => (item.params.metadata as Json)?.orderId === data.orderId)).toHaveLength(1);
    });

    it('fails the payment when Stripe refuses the request for good (idempotency key reused with other parameters)', async () => {
      const data = request();
      await server.stripe!.paymentIntents.create({ amount: 1, currency: 'usd' }, { idempotencyKey: paymentIdempotencyKey(data) });
      await deliver(envelope(data));
      const payment = (await paymentOf(data.orderId))!;
      expect(payment).toMatchObject({ status: 'FAILED', failureReason: 'provider_error' });
      expect(await outboxTypes(data.orderId)).toEqual(['PaymentFailed']);
    });
  });

  describe('webhooks', () => {
    it('applies payment_intent.succeeded (the real fixture, ids substituted): SUCCEEDED and PaymentSucceeded', async () => {
      const payment = await requested({ amount: 5000 });
      const intent = fake.succeedIntent(payment.providerPaymentId!);
      const event = intentSucceededEvent(intent);
      const response = await webhook(event);
      expect(response).toEqual({ status: 200, body: { received: true, duplicate: false, outcome: 'applied' } });

      expect((await paymentOf(payment.orderId))!.status).toBe('SUCCEEDED');
      const events = await outboxOf(payment.orderId);
      expect(events.map((item) => [item.type, item.source, item.data])).toEqual([
        ['PaymentSucceeded', 'payments', { orderId: payment.orderId, paymentId: payment.id, amount: 5000, currency: 'USD' }],
      ]);
      const stored = await server.orm.em.fork().findOneOrFail(StripeEventEntity, { id: event.id });
      expect(stored).toMatchObject({ type: 'payment_intent.succeeded', outcome: 'applied', paymentId: payment.id });
      expect(stored.createdAtStripe?.getTime()).toBe(event.created * 1000);
    });

    it('applies a delivery once: the same event again (even 5 at once) answers 200 and changes nothing', async () => {
      const payment = await requested();
      const event = intentSucceededEvent(fake.succeedIntent(payment.providerPaymentId!));
      expect((await webhook(event)).body.outcome).toBe('applied');
      const again = await webhook(event);
      expect(again).toEqual({ status: 200, body: { received: true, duplicate: true, outcome: 'duplicate' } });
      const burst = await Promise.all(Array.from({ length: 5 }, () => webhook(event)));
      expect(burst.map((item) => item.status)).toEqual([200, 200, 200, 200, 200]);
      expect(burst.every((item) => item.body.duplicate === true)).toBe(true);
      expect(await outboxTypes(payment.orderId)).toEqual(['PaymentSucceeded']);
      expect(await server.orm.em.fork().count(StripeEventEntity, { id: event.id })).toBe(1);
    });

    it('applies 5 different deliveries of one success at once exactly once', async () => {
      const payment = await requested();
      const intent = fake.succeedIntent(payment.providerPaymentId!);
      const responses = await Promise.all(Array.from({ length: 5 }, () => webhook(intentSucceededEvent(intent))));
      expect(responses.map((item) => item.body.outcome).sort()).toEqual(['applied', 'stale', 'stale', 'stale', 'stale']);
      expect(await outboxTypes(payment.orderId)).toEqual(['PaymentSucceeded']);
    });

    it('refuses a bad, missing, stale or mismatched signature with 400 and changes nothing', async () => {
      const payment = await requested();
      const event = intentSucceededEvent(fake.succeedIntent(payment.providerPaymentId!));
      const payload = JSON.stringify(event);
      const stripe = server.stripe!;
      const cases = [
        { signature: stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_wrong' }) },
        { signature: null },
        { signature: 'garbage' },
        { signature: stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET, timestamp: Math.floor(Date.now() / 1000) - 3600 }) },
        // Signed for other bytes: the amount was tampered with after signing.
        { signature: stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }), payload: payload.replace(`"amount":${event.data.object.amount}`, '"amount":1') },
      ];
      for (const options of cases) {
        const response = await webhook(event, options);
        expect(response.status).toBe(400);
        expect(response.body.error).toMatch(/signature/i);
      }
      expect((await paymentOf(payment.orderId))!.status).toBe('REQUIRES_ACTION');
      expect(await outboxOf(payment.orderId)).toHaveLength(0);
      expect(await server.orm.em.fork().count(StripeEventEntity, { id: event.id })).toBe(0);
    });

    it('keeps SUCCEEDED when payment_failed arrives after succeeded (out of order)', async () => {
      const payment = await paid();
      const intent = intentOf(payment);
      const response = await webhook(intentFailedEvent(intent));
      expect(response).toEqual({ status: 200, body: { received: true, duplicate: false, outcome: 'stale' } });
      expect((await paymentOf(payment.orderId))!).toMatchObject({ status: 'SUCCEEDED', failureReason: null });
      expect(await outboxTypes(payment.orderId)).toEqual(['PaymentSucceeded']);
    });

    it('applies payment_intent.payment_failed: FAILED and PaymentFailed with the decline code, once', async () => {
      const payment = await requested();
      const intent = intentOf(payment);
      expect((await webhook(intentFailedEvent(intent))).body.outcome).toBe('applied');
      expect((await webhook(intentFailedEvent(intent))).body.outcome).toBe('stale');
      expect((await paymentOf(payment.orderId))!).toMatchObject({ status: 'FAILED', failureReason: 'card_declined' });
      expect((await outboxOf(payment.orderId)).map((event) => [event.type, event.data])).toEqual([
        ['PaymentFailed', { orderId: payment.orderId, paymentId: payment.id, reason: 'card_declined' }],
      ]);

      // The customer retried with another card and Stripe took the money: the success is applied and reported.
      expect((await webhook(intentSucceededEvent(fake.succeedIntent(intent.id)))).body.outcome).toBe('applied');
      expect((await paymentOf(payment.orderId))!.status).toBe('SUCCEEDED');
      expect(await outboxTypes(payment.orderId)).toEqual(['PaymentFailed', 'PaymentSucceeded']);
    });

    it('matches a payment by metadata.paymentId when the intent id was never stored', async () => {
      const payment = await requested();
      const intent = intentOf(payment);
      await server.orm.em.fork().nativeUpdate(PaymentEntity, { id: payment.id }, { providerPaymentId: null });
      expect((await webhook(intentSucceededEvent(fake.succeedIntent(intent.id)))).body.outcome).toBe('applied');
      expect((await paymentOf(payment.orderId))!).toMatchObject({ status: 'SUCCEEDED', providerPaymentId: intent.id });

      // Metadata naming a payment of another intent matches nothing.
      const other = await requested();
      const forged = intentSucceededEvent({ ...intent, id: 'pi_someone_elses', metadata: { orderId: other.orderId, paymentId: other.id } });
      expect((await webhook(forged)).body.outcome).toBe('unmatched');
      expect((await paymentOf(other.orderId))!.status).toBe('REQUIRES_ACTION');
    });

    it('accepts every fixture file in the stripe-events folder, unchanged, with 200', async () => {
      const files = eventFixtureFiles();
      expect(files).toEqual([
        '01-payment_intent.succeeded.json',
        '02-charge.failed.json',
        '03-charge.refund.updated.json',
        '04-vendure-e2e-payment_intent.succeeded.json',
        '05-openapi-fixtures3-event.plan.created.json',
      ]);
      const outboxBefore = await server.orm.em.fork().count(OutboxEvent, {});
      const outcomes: Record<string, string> = {};
      for (const file of files) {
        const response = await webhook(loadFixture(file));
        expect(response.status).toBe(200);
        outcomes[file] = response.body.outcome;
      }
      expect(outcomes).toEqual({
        '01-payment_intent.succeeded.json': 'unmatched',
        '02-charge.failed.json': 'ignored',
        '03-charge.refund.updated.json': 'unmatched',
        '04-vendure-e2e-payment_intent.succeeded.json': 'unmatched',
        '05-openapi-fixtures3-event.plan.created.json': 'ignored',
      });
      expect(await server.orm.em.fork().count(OutboxEvent, {})).toBe(outboxBefore);
    });

    it('counts webhooks by type and outcome on /metrics', async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toMatch(/stripe_webhooks_total\{[^}]*type="payment_intent.succeeded"[^}]*outcome="applied"[^}]*\} [1-9]/);
      expect(text).toMatch(/payments_total\{[^}]*provider="stripe"[^}]*outcome="requires_action"[^}]*\} [1-9]/);
    });
  });

  describe('refunds', () => {
    it('keeps a Stripe refund PENDING until charge.refunded says it succeeded', async () => {
      const payment = await paid({ amount: 1000 });
      const result = await refund(payment.id, 300, admin, 'customer asked');
      expect(result.errors).toBeUndefined();
      const created = result.data!.refundPayment;
      expect(created).toMatchObject({ amount: { amount: 300, currency: 'USD' }, status: 'PENDING', reason: 'customer asked' });

      const [call] = fake.requestsTo('POST /v1/refunds').filter((item) => (item.params.metadata as Json)?.refundId === created.id);
      expect(call).toMatchObject({
        idempotencyKey: refundIdempotencyKey(created.id),
        params: { payment_intent: payment.providerPaymentId, amount: '300', metadata: { refundId: created.id, paymentId: payment.id, orderId: payment.orderId } },
      });
      expect((await paymentOf(payment.orderId))!).toMatchObject({ status: 'SUCCEEDED', refundedAmount: 0 });
      expect(await outboxTypes(payment.orderId)).toEqual(['PaymentSucceeded']);

      const stripeRefund = [...fake.refunds.values()].find((item) => item.metadata.refundId === created.id)!;
      const response = await webhook(chargeRefundedEvent(intentOf(payment), 300, [stripeRefund]));
      expect(response.body.outcome).toBe('applied');
      expect((await refundsOf(payment.id)).map((item) => [item.id, item.status, item.providerRefundId])).toEqual([[created.id, 'SUCCEEDED', stripeRefund.id]]);
      expect((await paymentOf(payment.orderId))!).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmount: 300 });
      const events = await outboxOf(payment.orderId);
      expect(events.map((event) => event.type)).toEqual(['PaymentSucceeded', 'RefundIssued']);
      expect(events[1]!.data).toEqual({ orderId: payment.orderId, userId: payment.userId, paymentId: payment.id, refundId: created.id, amount: 300, currency: 'USD' });

      const read = await graphqlRequest(url, PAYMENT, { variables: { id: payment.id }, token: owner });
      expect(read.data!.payment).toMatchObject({ status: 'PARTIALLY_REFUNDED', refunds: [{ id: created.id, status: 'SUCCEEDED', amount: { amount: 300 } }] });
    });

    it('asks Stripe for the refunds when charge.refunded carries no list (current API versions)', async () => {
      const payment = await paid({ amount: 800 });
      const created = (await refund(payment.id, 800)).data!.refundPayment;
      const before = fake.requestsTo('GET /v1/refunds').length;
      const response = await webhook(chargeRefundedEvent(intentOf(payment), 800));
      expect(response.body.outcome).toBe('applied');
      expect(fake.requestsTo('GET /v1/refunds').slice(before).map((item) => item.params)).toEqual([expect.objectContaining({ payment_intent: payment.providerPaymentId })]);
      expect((await refundsOf(payment.id)).map((item) => [item.id, item.status])).toEqual([[created.id, 'SUCCEEDED']]);
      expect((await paymentOf(payment.orderId))!).toMatchObject({ status: 'REFUNDED', refundedAmount: 800 });
    });

    it('follows charge.refund.updated: succeeded, then failed (the real fixture), never back', async () => {
      const payment = await paid({ amount: 1000 });
      const created = (await refund(payment.id, 400)).data!.refundPayment;
      const stripeRefund = [...fake.refunds.values()].find((item) => item.metadata.refundId === created.id)!;

      const succeeded = refundUpdatedEvent(stripeRefund, 'succeeded');
      expect((await webhook(succeeded)).body.outcome).toBe('applied');
      expect((await paymentOf(payment.orderId))!).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmount: 400 });

      const failed = refundUpdatedEvent(fake.settleRefund(stripeRefund.id, 'failed', 'expired_or_canceled_card'), 'failed');
      expect((await webhook(failed)).body.outcome).toBe('applied');
      const [row] = await refundsOf(payment.id);
      expect(row).toMatchObject({ status: 'FAILED', failureReason: 'expired_or_canceled_card' });
      expect((await paymentOf(payment.orderId))!).toMatchObject({ status: 'SUCCEEDED', refundedAmount: 0 });

      // A late copy of the earlier success (new delivery id) does not revive the refund.
      expect((await webhook({ ...succeeded, id: newEventId() })).body.outcome).toBe('stale');
      expect((await refundsOf(payment.id))[0]!.status).toBe('FAILED');

      const events = await outboxOf(payment.orderId);
      expect(events.map((event) => event.type)).toEqual(['PaymentSucceeded', 'RefundIssued', 'RefundFailed']);
      expect(events[2]!.data).toEqual({
        orderId: payment.orderId,
        userId: payment.userId,
        paymentId: payment.id,
        refundId: created.id,
        amount: 400,
        currency: 'USD',
        reason: 'expired_or_canceled_card',
        previouslyIssued: true,
      });

      // The failed amount can be refunded again.
      expect((await refund(payment.id, 1000)).data!.refundPayment.status).toBe('PENDING');
    });

    it('fails a pending refund straight away when Stripe reports it failed', async () => {
      const payment = await paid({ amount: 1000 });
      const created = (await refund(payment.id, 100)).data!.refundPayment;
      const stripeRefund = [...fake.refunds.values()].find((item) => item.metadata.refundId === created.id)!;
      expect((await webhook(refundUpdatedEvent(stripeRefund, 'failed'))).body.outcome).toBe('applied');
      expect((await refundsOf(payment.id))[0]!.status).toBe('FAILED');
      expect((await paymentOf(payment.orderId))!).toMatchObject({ status: 'SUCCEEDED', refundedAmount: 0 });
      expect(await outboxTypes(payment.orderId)).toEqual(['PaymentSucceeded', 'RefundFailed']);
    });

    it('counts pending refunds against what is refundable: over-refund is BAD_USER_INPUT', async () => {
      const payment = await paid({ amount: 1000 });
      expect((await refund(payment.id, 600)).data!.refundPayment.status).toBe('PENDING');
      const over = await refund(payment.id, 500);
      expect(over.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(over.errors?.[0]?.message).toMatch(/only 400 of 1000 USD/);
      expect(await refundsOf(payment.id)).toHaveLength(1);
      expect((await refund(payment.id, 400)).errors).toBeUndefined();
    });

    it('refuses refunds of a payment still waiting for the customer', async () => {
      const payment = await requested();
      expect((await refund(payment.id, 100)).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    });

    it('records the refund before asking Stripe: while Stripe is down it stays PENDING and the sweep sends it once, with the same key', async () => {
      const payment = await paid({ amount: 1000 });
      fake.failNext({ route: 'POST /v1/refunds', status: 500, times: 2 });
      const down = await refund(payment.id, 100);
      expect(down.errors).toBeUndefined();
      const created = down.data!.refundPayment;
      expect(created).toMatchObject({ status: 'PENDING', amount: { amount: 100 } });
      expect((await refundsOf(payment.id)).map((row) => [row.id, row.status, row.providerRefundId])).toEqual([[created.id, 'PENDING', null]]);
      // Still counted against what is refundable while unsent.
      expect((await refund(payment.id, 950)).errors?.[0]?.message).toMatch(/only 900 of 1000 USD/);

      await server.service.refundStalled(server.orm.em, 0);
      const calls = fake.requestsTo('POST /v1/refunds').filter((item) => (item.params.metadata as Json)?.refundId === created.id);
      expect(calls.map((item) => item.idempotencyKey)).toEqual([refundIdempotencyKey(created.id), refundIdempotencyKey(created.id), refundIdempotencyKey(created.id)]);
      expect([...fake.refunds.values()].filter((item) => item.metadata.refundId === created.id)).toHaveLength(1);
      expect((await refundsOf(payment.id))[0]).toMatchObject({ status: 'PENDING', providerRefundId: expect.stringMatching(/^re_/) });
    });

    it('keeps a refund Stripe refuses as FAILED with the reason, answers PAYMENT_FAILED, and leaves the amount refundable', async () => {
      const payment = await paid({ amount: 1000 });
      fake.failNext({ route: 'POST /v1/refunds', status: 400 });
      const refused = await refund(payment.id, 100);
      expect(refused.errors?.[0]?.extensions?.code).toBe('PAYMENT_FAILED');
      const [row] = await refundsOf(payment.id);
      expect(refused.errors?.[0]?.extensions?.refundId).toBe(row!.id);
      expect(row).toMatchObject({ status: 'FAILED', failureReason: expect.stringMatching(/^provider_rejected/), providerRefundId: null });
      expect((await paymentOf(payment.orderId))!).toMatchObject({ status: 'SUCCEEDED', refundedAmount: 0 });
      expect(await outboxTypes(payment.orderId)).toEqual(['PaymentSucceeded', 'RefundFailed']);
      expect((await refund(payment.id, 1000)).data!.refundPayment.status).toBe('PENDING');
    });

    it('records a refund made outside Mercado (Stripe dashboard) and ignores updates about unknown payments', async () => {
      const payment = await paid({ amount: 1000 });
      const outside = { id: 're_dashboard_1', amount: 250, currency: 'usd', payment_intent: payment.providerPaymentId!, charge: intentOf(payment).latest_charge, metadata: {} };
      expect((await webhook(refundUpdatedEvent(outside, 'succeeded'))).body.outcome).toBe('applied');
      expect((await refundsOf(payment.id)).map((item) => [item.providerRefundId, item.status, item.amount, item.requestedBy])).toEqual([['re_dashboard_1', 'SUCCEEDED', 250, 'stripe']]);
      expect((await paymentOf(payment.orderId))!).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmount: 250 });
      expect(await outboxTypes(payment.orderId)).toEqual(['PaymentSucceeded', 'RefundIssued']);

      const unknown = { ...outside, id: 're_unknown', payment_intent: 'pi_not_ours' };
      expect(await webhook(refundUpdatedEvent(unknown, 'failed'))).toEqual({ status: 200, body: { received: true, duplicate: false, outcome: 'unmatched' } });
      expect(await server.orm.em.fork().count(RefundEntity, { providerRefundId: 're_unknown' })).toBe(0);
    });
  });
});
