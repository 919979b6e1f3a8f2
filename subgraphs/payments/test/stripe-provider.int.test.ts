import { ProviderRejectedError, ProviderUnavailableError } from '../src/payment/payment.provider';
import { RefundStatus } from '../src/payment/payment-status';
import { createStripeClient, StripePaymentProvider } from '../src/payment/stripe.provider';
import { FAKE_DECLINE_AMOUNT, FakeStripe } from './support/fake-stripe';

/** The Stripe provider alone, with the real SDK against the fake: how each API answer is classified. */
describe('StripePaymentProvider', () => {
  let fake: FakeStripe;
  const input = (overrides: Partial<Parameters<StripePaymentProvider['createPayment']>[0]> = {}) => ({
    paymentId: '00000000-0000-5000-8000-000000000001',
    orderId: `order-${Math.random().toString(36).slice(2)}`,
    amount: 1000,
    currency: 'USD',
    paymentMethod: null,
    idempotencyKey: `key-${Math.random().toString(36).slice(2)}`,
    ...overrides,
  });
  const provider = (options: { retries?: number; timeoutMs?: number; secretKey?: string } = {}) =>
    new StripePaymentProvider(
      createStripeClient({
        secretKey: options.secretKey ?? 'sk_test_provider',
        webhookSecret: 'whsec_unused',
        apiBase: { protocol: 'http', host: '127.0.0.1', port: Number(new URL(fake.apiBase).port) },
        maxNetworkRetries: options.retries ?? 0,
        timeoutMs: options.timeoutMs ?? 10_000,
      }),
    );

  beforeAll(async () => {
    fake = await FakeStripe.start('sk_test_provider');
  });

  afterAll(async () => {
    await fake?.close();
  });

  it('creates an unconfirmed PaymentIntent: requires_action with the client secret', async () => {
    const attempt = await provider().createPayment(input());
    expect(attempt).toMatchObject({ outcome: 'requires_action' });
    if (attempt.outcome !== 'requires_action') throw new Error('unreachable');
    expect(fake.intents.get(attempt.providerPaymentId)).toMatchObject({ status: 'requires_payment_method', client_secret: attempt.clientSecret });
  });

  it('replays the stored response for the same idempotency key (no second intent)', async () => {
    const request = input();
    const first = await provider().createPayment(request);
    const again = await provider().createPayment(request);
    expect(again).toEqual(first);
    const sent = fake.requestsTo('POST /v1/payment_intents').filter((item) => item.idempotencyKey === request.idempotencyKey);
    expect(sent).toHaveLength(2);
    expect([...fake.intents.values()].filter((intent) => intent.metadata.orderId === request.orderId)).toHaveLength(1);
  });

  it('turns a 402 card error into a failed attempt with the decline code', async () => {
    const attempt = await provider().createPayment(input({ amount: FAKE_DECLINE_AMOUNT }));
    expect(attempt).toMatchObject({ outcome: 'failed', reason: 'card_declined', message: 'Your card was declined.' });
  });

  it('classifies 5xx, timeouts and bad credentials as unavailable (retry later)', async () => {
    fake.failNext({ route: 'POST /v1/payment_intents', status: 500 });
    await expect(provider().createPayment(input())).rejects.toBeInstanceOf(ProviderUnavailableError);

    fake.failNext({ route: 'POST /v1/payment_intents', status: 'hang' });
    await expect(provider({ timeoutMs: 200 }).createPayment(input())).rejects.toBeInstanceOf(ProviderUnavailableError);

    await expect(provider({ secretKey: 'sk_test_wrong' }).createPayment(input())).rejects.toBeInstanceOf(ProviderUnavailableError);
  });

  it('treats an invalid request as a final provider_error', async () => {
    fake.failNext({ route: 'POST /v1/payment_intents', status: 400 });
    expect(await provider().createPayment(input())).toMatchObject({ outcome: 'failed', reason: 'provider_error' });
  });

  it('creates refunds as PENDING, lists them, and refuses refunds Stripe refuses', async () => {
    const attempt = await provider().createPayment(input({ amount: 500 }));
    if (attempt.outcome !== 'requires_action') throw new Error('unreachable');
    fake.succeedIntent(attempt.providerPaymentId);
    const refund = await provider().createRefund({
      refundId: 'r-1',
      paymentId: 'p-1',
      orderId: 'o-1',
      providerPaymentId: attempt.providerPaymentId,
      amount: 200,
      currency: 'USD',
      idempotencyKey: `refund-${attempt.providerPaymentId}`,
    });
    expect(refund).toMatchObject({ status: RefundStatus.PENDING, failureReason: null });
    expect(await provider().listRefunds(attempt.providerPaymentId)).toEqual([
      { id: refund.providerRefundId, status: 'succeeded', amount: 200, currency: 'usd', reason: null, failureReason: null, metadata: { refundId: 'r-1', paymentId: 'p-1', orderId: 'o-1' } },
    ]);
    await expect(
      provider().createRefund({ refundId: 'r-2', paymentId: 'p-1', orderId: 'o-1', providerPaymentId: attempt.providerPaymentId, amount: 400, currency: 'USD', idempotencyKey: 'refund-too-much' }),
    ).rejects.toMatchObject({ constructor: ProviderRejectedError, code: 'amount_too_large' });
  });
});
