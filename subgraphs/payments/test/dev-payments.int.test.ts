import { randomUUID } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { createLogger, createTokenVerifier, onSql, OutboxEvent } from '../../kit/src';
import { applyEvent, testEnvelope } from '../../kit/src/events/testing';
import { graphqlRequest, testDatabaseUrl, TestIssuer } from '../../kit/src/testing';
import { readPaymentsConfig } from '../src/config';
import { PaymentEntity } from '../src/payment/payment.entity';
import { paymentIdFor, type EventEnvelope } from '../src/payment/payment.events';
import { RefundEntity } from '../src/payment/refund.entity';
import { createPaymentsServer, type PaymentsServer } from '../src/server';

const PAYMENT = `query($id: ID!) {
  payment(id: $id) { id orderId status amount { amount currency } provider clientSecret createdAt
    refunds { id amount { amount currency } status reason createdAt } }
}`;
const ORDER_ENTITIES = `query($r: [_Any!]!) {
  _entities(representations: $r) { ... on Order { id payment { id orderId status amount { amount currency } } } }
}`;
const PAYMENT_ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Payment { id status clientSecret } } }`;
const REFUND = `mutation($paymentId: ID!, $amount: Int!, $reason: String) {
  refundPayment(paymentId: $paymentId, amount: $amount, reason: $reason) { id amount { amount currency } status reason createdAt }
}`;

describe('payments subgraph on the development provider', () => {
  const database = testDatabaseUrl('payments_dev');
  let server: PaymentsServer;
  let url: string;
  let base: string;
  let issuer: TestIssuer;
  let admin: string;
  let owner: string;
  let stranger: string;
  const ownerId = `user-${randomUUID()}`;

  const envelope = (data: Record<string, unknown>): EventEnvelope => testEnvelope('PaymentRequested', 'orders', String(data.orderId), data);
  const request = (overrides: Record<string, unknown> = {}) => ({
    orderId: randomUUID(),
    userId: ownerId,
    amount: 1000,
    currency: 'USD',
    paymentMethod: 'card',
    items: [{ productId: 'p-1', kind: 'GOOD', quantity: 2 }],
    ...overrides,
  });
  /** Delivers an event the way the consumer does: the handler inside one transaction. */
  const deliver = (event: EventEnvelope) => applyEvent(server.orm.em, server.eventHandlers.PaymentRequested!, event);
  const paymentsOf = (orderId: string) => server.orm.em.fork().find(PaymentEntity, { orderId });
  const outboxOf = (orderId: string) => server.orm.em.fork().find(OutboxEvent, { subject: orderId }, { orderBy: { occurredAt: 'asc' } });
  const pay = async (overrides: Record<string, unknown> = {}) => {
    const data = request(overrides);
    await deliver(envelope(data));
    const [payment] = await paymentsOf(data.orderId);
    return payment!;
  };
  /** `token: null` sends no Authorization header. */
  const refund = (paymentId: string, amount: number, token: string | null = admin, reason?: string) =>
    graphqlRequest(url, REFUND, { variables: { paymentId, amount, reason }, token: token ?? undefined });

  beforeAll(async () => {
    issuer = await TestIssuer.create();
    const config = readPaymentsConfig({ DATABASE_URL: database.url, NODE_ENV: 'test', LOG_LEVEL: 'silent', EVENTS_ENABLED: 'false' });
    server = await createPaymentsServer({ config, log: createLogger('payments-test', 'silent'), verifyToken: createTokenVerifier(issuer.keys) });
    url = await server.listen(0);
    base = url.replace('/graphql', '');
    admin = await issuer.sign('admin-1', 'ADMIN');
    owner = await issuer.sign(ownerId, 'CUSTOMER');
    stranger = await issuer.sign('someone-else', 'CUSTOMER');
  });

  afterAll(async () => {
    await server?.close();
    await database.drop();
  });

  describe('PaymentRequested', () => {
    it('settles at once: SUCCEEDED and a PaymentSucceeded event in the same transaction', async () => {
      const data = request({ amount: 2599, currency: 'eur' });
      await deliver(envelope(data));

      const [payment, ...others] = await paymentsOf(data.orderId);
      expect(others).toHaveLength(0);
      expect(payment).toMatchObject({
        id: paymentIdFor(data.orderId),
        orderId: data.orderId,
        userId: ownerId,
        amount: 2599,
        currency: 'EUR',
        status: 'SUCCEEDED',
        provider: 'dev',
        paymentMethod: 'card',
        providerPaymentId: `dev_pi_${paymentIdFor(data.orderId)}`,
        clientSecret: null,
        refundedAmount: 0,
        items: [{ productId: 'p-1', kind: 'GOOD', quantity: 2 }],
      });
      const events = await outboxOf(data.orderId);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        type: 'PaymentSucceeded',
        source: 'payments',
        subject: data.orderId,
        version: 1,
        publishedAt: null,
        data: { orderId: data.orderId, paymentId: payment!.id, amount: 2599, currency: 'EUR' },
      });
    });

    it('declines on dev-decline: FAILED and PaymentFailed card_declined', async () => {
      const payment = await pay({ paymentMethod: 'dev-decline' });
      expect(payment).toMatchObject({ status: 'FAILED', failureReason: 'card_declined' });
      const events = await outboxOf(payment.orderId);
      expect(events.map((event) => [event.type, event.data])).toEqual([['PaymentFailed', { orderId: payment.orderId, paymentId: payment.id, reason: 'card_declined' }]]);
    });

    it('fails the payment on dev-error without throwing (no retries): PaymentFailed provider_error', async () => {
      const data = request({ paymentMethod: 'dev-error' });
      await expect(deliver(envelope(data))).resolves.toBeUndefined();
      const [payment] = await paymentsOf(data.orderId);
      expect(payment).toMatchObject({ status: 'FAILED', failureReason: 'provider_error', providerPaymentId: null });
      const events = await outboxOf(data.orderId);
      expect(events.map((event) => [event.type, event.data])).toEqual([['PaymentFailed', { orderId: data.orderId, paymentId: payment!.id, reason: 'provider_error' }]]);
    });

    it('does nothing new for a redelivered request or a second request for the same order', async () => {
      const data = request();
      const event = envelope(data);
      await deliver(event);
      await deliver(event);
      await deliver(envelope({ ...data, amount: 5000 }));
      expect(await paymentsOf(data.orderId)).toHaveLength(1);
      expect((await paymentsOf(data.orderId))[0]).toMatchObject({ amount: 1000, status: 'SUCCEEDED' });
      expect((await outboxOf(data.orderId)).map((outbox) => outbox.type)).toEqual(['PaymentSucceeded']);
    });

    it('creates one payment when the same request is delivered 5 times at once', async () => {
      const data = request();
      await Promise.all(Array.from({ length: 5 }, () => deliver(envelope(data))));
      expect(await paymentsOf(data.orderId)).toHaveLength(1);
      expect(await outboxOf(data.orderId)).toHaveLength(1);
    });

    it.each([
      ['no order id', { orderId: undefined }],
      ['a negative amount', { amount: -1 }],
      ['a fractional amount', { amount: 10.5 }],
      ['a bad currency', { currency: 'dollars' }],
      ['no user', { userId: '' }],
    ])('refuses a request with %s as unrecoverable, writing nothing', async (_name, change) => {
      const data = request(change);
      const error = await deliver(envelope(data)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UnrecoverableError);
      expect((error as Error).message).toMatch(/Invalid PaymentRequested/);
      if (typeof data.orderId === 'string') {
        expect(await paymentsOf(data.orderId)).toHaveLength(0);
        expect(await outboxOf(data.orderId)).toHaveLength(0);
      }
    });
  });

  describe('reading payments', () => {
    it('shows a payment to its owner and to admins, null to other customers, and refuses anonymous callers', async () => {
      const payment = await pay();
      const mine = await graphqlRequest(url, PAYMENT, { variables: { id: payment.id }, token: owner });
      expect(mine.errors).toBeUndefined();
      expect(mine.data!.payment).toMatchObject({
        id: payment.id,
        orderId: payment.orderId,
        status: 'SUCCEEDED',
        amount: { amount: 1000, currency: 'USD' },
        provider: 'dev',
        clientSecret: null,
        refunds: [],
      });
      expect(Date.parse(mine.data!.payment.createdAt)).not.toBeNaN();

      const asAdmin = await graphqlRequest(url, PAYMENT, { variables: { id: payment.id }, token: admin });
      expect(asAdmin.data!.payment).toMatchObject({ id: payment.id, status: 'SUCCEEDED' });

      const asStranger = await graphqlRequest(url, PAYMENT, { variables: { id: payment.id }, token: stranger });
      expect(asStranger.errors).toBeUndefined();
      expect(asStranger.data!.payment).toBeNull();

      const anonymous = await graphqlRequest(url, PAYMENT, { variables: { id: payment.id } });
      expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(anonymous.data?.payment ?? null).toBeNull();
    });

    it('answers null for unknown and malformed ids', async () => {
      for (const id of [randomUUID(), 'not-a-uuid']) {
        const result = await graphqlRequest(url, PAYMENT, { variables: { id }, token: admin });
        expect(result.errors).toBeUndefined();
        expect(result.data!.payment).toBeNull();
      }
    });

    it('resolves Order.payment through _entities for the owner and admins, null for another customer', async () => {
      const payment = await pay();
      const noPayment = randomUUID();
      const variables = { r: [{ __typename: 'Order', id: payment.orderId }, { __typename: 'Order', id: noPayment }] };

      const mine = await graphqlRequest(url, ORDER_ENTITIES, { variables, token: owner });
      expect(mine.errors).toBeUndefined();
      expect(mine.data!._entities).toEqual([
        { id: payment.orderId, payment: { id: payment.id, orderId: payment.orderId, status: 'SUCCEEDED', amount: { amount: 1000, currency: 'USD' } } },
        { id: noPayment, payment: null },
      ]);

      const asAdmin = await graphqlRequest(url, ORDER_ENTITIES, { variables, token: admin });
      expect(asAdmin.data!._entities[0].payment).toMatchObject({ id: payment.id });

      const asStranger = await graphqlRequest(url, ORDER_ENTITIES, { variables, token: stranger });
      expect(asStranger.errors).toBeUndefined();
      expect(asStranger.data!._entities).toEqual([
        { id: payment.orderId, payment: null },
        { id: noPayment, payment: null },
      ]);

      const anonymous = await graphqlRequest(url, ORDER_ENTITIES, { variables });
      expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('resolves Payment references for the owner only (and admins)', async () => {
      const payment = await pay();
      const variables = { r: [{ __typename: 'Payment', id: payment.id }] };
      expect((await graphqlRequest(url, PAYMENT_ENTITIES, { variables, token: owner })).data!._entities).toEqual([{ id: payment.id, status: 'SUCCEEDED', clientSecret: null }]);
      expect((await graphqlRequest(url, PAYMENT_ENTITIES, { variables, token: admin })).data!._entities).toEqual([{ id: payment.id, status: 'SUCCEEDED', clientSecret: null }]);
      expect((await graphqlRequest(url, PAYMENT_ENTITIES, { variables, token: stranger })).data!._entities).toEqual([null]);
    });

    it('loads the payments and refunds of 25 orders with one query each', async () => {
      const payments = [];
      for (let index = 0; index < 5; index += 1) payments.push(await pay());
      await refund(payments[0]!.id, 100);
      const orderIds = [...payments.map((payment) => payment.orderId), ...Array.from({ length: 20 }, () => randomUUID())];

      const statements: string[] = [];
      const stop = onSql(server.orm, (sql) => statements.push(sql));
      let result;
      try {
        result = await graphqlRequest(url, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { payment { id refunds { amount { amount } } } } } }`, {
          variables: { r: orderIds.map((id) => ({ __typename: 'Order', id })) },
          token: admin,
        });
      } finally {
        stop();
      }
      expect(result.errors).toBeUndefined();
      expect(result.data!._entities.filter((order: { payment: unknown }) => order.payment !== null)).toHaveLength(5);
      expect(result.data!._entities[0].payment.refunds).toEqual([{ amount: { amount: 100 } }]);
      expect(statements.filter((sql) => /from "payment"/.test(sql))).toHaveLength(1);
      expect(statements.filter((sql) => /from "refund"/.test(sql))).toHaveLength(1);
    });
  });

  describe('refundPayment', () => {
    it('refunds in parts: each refund settles at once, with RefundIssued, until fully refunded', async () => {
      const payment = await pay();
      const first = await refund(payment.id, 300, admin, 'damaged in transit');
      expect(first.errors).toBeUndefined();
      expect(first.data!.refundPayment).toMatchObject({ amount: { amount: 300, currency: 'USD' }, status: 'SUCCEEDED', reason: 'damaged in transit' });

      let read = await graphqlRequest(url, PAYMENT, { variables: { id: payment.id }, token: owner });
      expect(read.data!.payment).toMatchObject({ status: 'PARTIALLY_REFUNDED', refunds: [{ id: first.data!.refundPayment.id, status: 'SUCCEEDED' }] });

      const rest = await refund(payment.id, 700);
      expect(rest.data!.refundPayment).toMatchObject({ amount: { amount: 700 }, status: 'SUCCEEDED', reason: null });
      read = await graphqlRequest(url, PAYMENT, { variables: { id: payment.id }, token: owner });
      expect(read.data!.payment.status).toBe('REFUNDED');
      expect(read.data!.payment.refunds.map((item: { amount: { amount: number } }) => item.amount.amount)).toEqual([300, 700]);

      const events = await outboxOf(payment.orderId);
      expect(events.map((event) => event.type)).toEqual(['PaymentSucceeded', 'RefundIssued', 'RefundIssued']);
      expect(events[1]!.data).toEqual({ orderId: payment.orderId, userId: payment.userId, paymentId: payment.id, refundId: first.data!.refundPayment.id, amount: 300, currency: 'USD' });

      const more = await refund(payment.id, 1);
      expect(more.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    });

    it('refuses refunding more than was paid with BAD_USER_INPUT and writes nothing', async () => {
      const payment = await pay();
      const tooMuch = await refund(payment.id, 1001);
      expect(tooMuch.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(tooMuch.errors?.[0]?.message).toMatch(/only 1000 of 1000 USD is still refundable/);

      expect((await refund(payment.id, 600)).errors).toBeUndefined();
      const overTotal = await refund(payment.id, 401);
      expect(overTotal.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(await server.orm.em.fork().count(RefundEntity, { paymentId: payment.id })).toBe(1);
      expect((await paymentsOf(payment.orderId))[0]).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmount: 600 });
    });

    it('never refunds more than was paid when 10 refunds race', async () => {
      const payment = await pay();
      const results = await Promise.all(Array.from({ length: 10 }, () => refund(payment.id, 200)));
      const codes = results.map((result) => result.errors?.[0]?.extensions?.code ?? 'OK');
      expect(codes.filter((code) => code === 'OK')).toHaveLength(5);
      expect(codes.filter((code) => code !== 'OK').every((code) => code === 'BAD_USER_INPUT' || code === 'CONFLICT')).toBe(true);
      expect((await paymentsOf(payment.orderId))[0]).toMatchObject({ status: 'REFUNDED', refundedAmount: 1000 });
    });

    it('refunds only paid payments', async () => {
      const failed = await pay({ paymentMethod: 'dev-decline' });
      const result = await refund(failed.id, 100);
      expect(result.errors?.[0]?.extensions?.code).toBe('CONFLICT');
      expect(result.errors?.[0]?.message).toMatch(/is FAILED/);
      expect((await refund(randomUUID(), 100)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    });

    it('is for admins only, checked before the arguments', async () => {
      const payment = await pay();
      expect((await refund(payment.id, 100, owner)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect((await refund(payment.id, 100, null)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect((await refund('nope', 0, owner)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(await server.orm.em.fork().count(RefundEntity, { paymentId: payment.id })).toBe(0);
    });

    it.each([
      ['a zero amount', { amount: 0 }, 'amount'],
      ['a negative amount', { amount: -5 }, 'amount'],
      ['a malformed payment id', { paymentId: 'pay_1' }, 'paymentId'],
      ['a blank reason', { reason: '   ' }, 'reason'],
      ['a reason over 500 characters', { reason: 'r'.repeat(501) }, 'reason'],
    ])('refuses %s with BAD_USER_INPUT', async (_name, change, field) => {
      const payment = await pay();
      const variables = { paymentId: payment.id, amount: 100, reason: 'ok', ...change };
      const result = await graphqlRequest(url, REFUND, { variables, token: admin });
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.extensions?.fields?.map((problem: { field: string }) => problem.field)).toContain(field);
      expect(await server.orm.em.fork().count(RefundEntity, { paymentId: payment.id })).toBe(0);
    });
  });

  it('counts payments by provider and outcome on /metrics', async () => {
    await pay();
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/payments_total\{[^}]*provider="dev"[^}]*outcome="succeeded"[^}]*\} [1-9]/);
    expect(text).toMatch(/payments_total\{[^}]*outcome="failed"[^}]*\} [1-9]/);
  });

  it('serves no Stripe webhook without Stripe, and reports ready', async () => {
    const response = await fetch(`${base}/webhooks/stripe`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(404);
    expect(await (await fetch(`${base}/ready`)).json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
  });
});
