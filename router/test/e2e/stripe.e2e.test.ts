import { randomUUID } from 'node:crypto';
import { AddToCartDocument, CheckoutDocument, OrderDocument, StockDocument } from '../../../schema/generated/operations';
import { DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { createStripeClient } from '../../../subgraphs/payments/src/payment/stripe.provider';
import { FakeStripe, type FakePaymentIntent } from '../../../subgraphs/payments/test/support/fake-stripe';
import { intentSucceededEvent, sendWebhook } from '../../../subgraphs/payments/test/support/stripe-webhooks';
import { eventually, startStack, type Stack } from './stack';

const SECRET_KEY = 'sk_test_e2e_router';
const WEBHOOK_SECRET = 'whsec_e2e_router_0123456789';
const wallet = DEMO_PRODUCTS.find((product) => product.sku === 'GOOD-HW-WALLET')!;

describe('checkout paid with Stripe (fake Stripe at the HTTP boundary), through the router', () => {
  let fake: FakeStripe;
  let stack: Stack;
  const stripe = createStripeClient({ secretKey: SECRET_KEY, webhookSecret: WEBHOOK_SECRET, apiBase: null, maxNetworkRetries: 0, timeoutMs: 5_000 });

  beforeAll(async () => {
    fake = await FakeStripe.start(SECRET_KEY);
    stack = await startStack({ env: { payments: { STRIPE_SECRET_KEY: SECRET_KEY, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_API_BASE: fake.apiBase } } });
  });

  afterAll(async () => {
    await stack?.close();
    await fake?.close();
  });

  const orderOf = (id: string, token: string) => stack.request(OrderDocument, { id }, token).then((result) => result.data!.order!);
  const intentFor = (orderId: string): FakePaymentIntent | undefined => [...fake.intents.values()].find((intent) => intent.metadata.orderId === orderId);

  it('waits for the signed webhook, then the order is PAID with stock committed; a replayed or forged webhook changes nothing', async () => {
    const token = await stack.mintToken(randomUUID());
    const before = (await stack.request(StockDocument, { id: wallet.id })).data!.product!.stock!;
    await stack.request(AddToCartDocument, { productId: wallet.id, quantity: 1 }, token);
    const placed = (await stack.request(CheckoutDocument, { input: { idempotencyKey: randomUUID(), paymentMethod: 'card' } }, token)).data!.checkout;

    const awaiting = await eventually(() => orderOf(placed.id, token), (order) => order.payment?.status === 'REQUIRES_ACTION', 'PaymentIntent created');
    expect(awaiting.status).toBe('AWAITING_PAYMENT');
    expect(awaiting.payment).toMatchObject({ provider: 'stripe', amount: { amount: wallet.priceAmount, currency: 'USD' } });
    const intent = intentFor(placed.id)!;
    expect(awaiting.payment!.clientSecret).toBe(intent.client_secret);

    const forged = await sendWebhook(stack.baseUrls.payments, stripe, 'whsec_wrong_secret', intentSucceededEvent(intent));
    expect(forged.status).toBe(400);
    expect((await orderOf(placed.id, token)).status).toBe('AWAITING_PAYMENT');

    const succeeded = intentSucceededEvent(fake.succeedIntent(intent.id));
    expect((await sendWebhook(stack.baseUrls.payments, stripe, WEBHOOK_SECRET, succeeded)).status).toBe(200);
    expect((await sendWebhook(stack.baseUrls.payments, stripe, WEBHOOK_SECRET, succeeded)).status).toBe(200);

    const paid = await eventually(() => orderOf(placed.id, token), (order) => order.status === 'PAID', 'order paid');
    expect(paid.payment?.status).toBe('SUCCEEDED');
    expect(paid.history.filter((entry) => entry.status === 'PAID')).toHaveLength(1);
    const committed = await eventually(
      () => stack.request(StockDocument, { id: wallet.id }).then((result) => result.data!.product!.stock!),
      (stock) => stock.onHand === before.onHand - 1,
      'stock committed',
    );
    expect(committed.reserved).toBe(before.reserved);
    expect(fake.requestsTo('POST /v1/payment_intents')).toHaveLength(1);
  });

  it('hides the client secret from another customer', async () => {
    const owner = await stack.mintToken(randomUUID());
    await stack.request(AddToCartDocument, { productId: wallet.id, quantity: 1 }, owner);
    const placed = (await stack.request(CheckoutDocument, { input: { idempotencyKey: randomUUID(), paymentMethod: 'card' } }, owner)).data!.checkout;
    await eventually(() => orderOf(placed.id, owner), (order) => order.payment?.status === 'REQUIRES_ACTION', 'PaymentIntent created');
    const other = await stack.mintToken(randomUUID());
    const seen = await stack.request(OrderDocument, { id: placed.id }, other);
    expect(seen.data?.order ?? null).toBeNull();
  });
});
