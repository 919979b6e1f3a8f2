import { randomUUID } from 'node:crypto';
import { AddToCartDocument, CheckoutDocument, OrderDocument, StockDocument } from '../../../schema/generated/operations';
import { DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { FakeStripe } from '../../../subgraphs/payments/test/support/fake-stripe';
import { eventually, startStack, type Stack } from './stack';

const SECRET_KEY = 'sk_test_e2e_expiry';
const book = DEMO_PRODUCTS.find((product) => product.sku === 'GOOD-BOOK-TA')!;

describe('a reservation that expires before payment, through the router', () => {
  let fake: FakeStripe;
  let stack: Stack;

  beforeAll(async () => {
    fake = await FakeStripe.start(SECRET_KEY);
    stack = await startStack({
      env: {
        // The customer never pays on Stripe, so the one-second hold runs out.
        payments: { STRIPE_SECRET_KEY: SECRET_KEY, STRIPE_WEBHOOK_SECRET: 'whsec_e2e_expiry_0123456789', STRIPE_API_BASE: fake.apiBase },
        inventory: { RESERVATION_TTL_SECONDS: '1' },
      },
    });
  });

  afterAll(async () => {
    await stack?.close();
    await fake?.close();
  });

  it('cancels the order as EXPIRED, releases the stock and cancels the PaymentIntent', async () => {
    const token = await stack.mintToken(randomUUID());
    const before = (await stack.request(StockDocument, { id: book.id })).data!.product!.stock!;
    await stack.request(AddToCartDocument, { productId: book.id, quantity: 3 }, token);
    const placed = (await stack.request(CheckoutDocument, { input: { idempotencyKey: randomUUID(), paymentMethod: 'card' } }, token)).data!.checkout;

    const expired = await eventually(
      () => stack.request(OrderDocument, { id: placed.id }, token).then((result) => result.data!.order!),
      (order) => order.status === 'CANCELLED',
      'order expiry',
    );
    expect(expired.cancelReason).toBe('EXPIRED');
    const released = await eventually(
      () => stack.request(StockDocument, { id: book.id }).then((result) => result.data!.product!.stock!),
      (stock) => stock.reserved === before.reserved,
      'stock release',
    );
    expect(released).toEqual(before);
    const payment = await eventually(
      () => stack.request(OrderDocument, { id: placed.id }, token).then((result) => result.data!.order!.payment),
      (value) => value?.status === 'CANCELLED',
      'payment cancelled',
    );
    expect(payment).toMatchObject({ status: 'CANCELLED', clientSecret: null });
    expect([...fake.intents.values()].find((intent) => intent.metadata.orderId === placed.id)?.status).toBe('canceled');
  });
});
