import { randomUUID } from 'node:crypto';
import { AddToCartDocument, CancelOrderDocument, CheckoutDocument, OrderDocument, RegisterDocument, StockDocument } from '../../../schema/generated/operations';
import { DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { eventually, startStack, type Stack } from './stack';

const bySku = (sku: string) => DEMO_PRODUCTS.find((product) => product.sku === sku)!;
const wallet = bySku('GOOD-HW-WALLET');
const indicator = bySku('IND-RSI-DIV');
const soldOut = bySku('GOOD-MUG');
const SETTLED = ['PAID', 'FULFILLED', 'CANCELLED'];

describe('checkout saga through the router (development payment provider)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });

  afterAll(async () => {
    await stack.close();
  });

  async function customer(): Promise<string> {
    const registered = await stack.request(RegisterDocument, { input: { email: `${randomUUID()}@example.com`, password: 'a-long-password-1', name: 'Buyer' } });
    return registered.data!.register.accessToken;
  }

  const stockOf = async (productId: string) => (await stack.request(StockDocument, { id: productId })).data!.product!.stock!;
  const settled = (orderId: string, token: string) =>
    eventually(() => stack.request(OrderDocument, { id: orderId }, token).then((result) => result.data!.order!), (order) => SETTLED.includes(order.status), `order ${orderId}`);

  async function placeOrder(token: string, lines: { productId: string; quantity: number }[], paymentMethod = 'dev-card', idempotencyKey = randomUUID()) {
    for (const line of lines) {
      const added = await stack.request(AddToCartDocument, line, token);
      expect(added.errors).toBeUndefined();
    }
    const checkout = await stack.request(CheckoutDocument, { input: { idempotencyKey, paymentMethod } }, token);
    expect(checkout.errors).toBeUndefined();
    return checkout.data!.checkout;
  }

  it('takes a cart to PAID with stock committed and the payment on the order', async () => {
    const token = await customer();
    const before = await stockOf(wallet.id);
    const placed = await placeOrder(token, [
      { productId: wallet.id, quantity: 2 },
      { productId: indicator.id, quantity: 1 },
    ]);
    expect(placed.total).toEqual({ amount: 2 * wallet.priceAmount + indicator.priceAmount, currency: 'USD' });

    const order = await settled(placed.id, token);
    expect(order.status).toBe('PAID');
    expect(order.payment).toMatchObject({ status: 'SUCCEEDED', amount: placed.total });
    expect(order.lines.map((line) => line.product.name).sort()).toEqual([indicator.name, wallet.name].sort());
    expect(order.history.map((entry) => entry.status)).toEqual(['PENDING', 'AWAITING_PAYMENT', 'PAID']);
    const committed = await eventually(() => stockOf(wallet.id), (stock) => stock.onHand === before.onHand - 2, 'stock commit');
    expect(committed).toEqual({ onHand: before.onHand - 2, reserved: 0, available: before.onHand - 2 });
  });

  it('fulfils an order of indicators and plans on payment', async () => {
    const token = await customer();
    const placed = await placeOrder(token, [{ productId: indicator.id, quantity: 1 }]);
    const order = await settled(placed.id, token);
    await eventually(() => stack.request(OrderDocument, { id: placed.id }, token).then((result) => result.data!.order!.status), (status) => status === 'FULFILLED', 'fulfilment');
    expect(order.payment?.status).toBe('SUCCEEDED');
  });

  it('cancels OUT_OF_STOCK without creating a payment', async () => {
    const token = await customer();
    const placed = await placeOrder(token, [{ productId: soldOut.id, quantity: 1 }]);
    const order = await settled(placed.id, token);
    expect(order).toMatchObject({ status: 'CANCELLED', cancelReason: 'OUT_OF_STOCK', payment: null });
  });

  it('cancels PAYMENT_FAILED on a declined payment and releases the stock', async () => {
    const token = await customer();
    const before = await stockOf(wallet.id);
    const placed = await placeOrder(token, [{ productId: wallet.id, quantity: 3 }], 'dev-decline');
    const order = await settled(placed.id, token);
    expect(order).toMatchObject({ status: 'CANCELLED', cancelReason: 'PAYMENT_FAILED', payment: { status: 'FAILED' } });
    const released = await eventually(() => stockOf(wallet.id), (stock) => stock.reserved === before.reserved, 'stock release');
    expect(released).toEqual(before);
  });

  it('places one order for a repeated idempotency key', async () => {
    const token = await customer();
    const key = randomUUID();
    const first = await placeOrder(token, [{ productId: indicator.id, quantity: 1 }], 'dev-card', key);
    const again = await stack.request(CheckoutDocument, { input: { idempotencyKey: key, paymentMethod: 'dev-card' } }, token);
    expect(again.data!.checkout.id).toBe(first.id);
  });

  it('keeps one customer out of another customer’s order and payment', async () => {
    const owner = await customer();
    const intruder = await customer();
    const placed = await placeOrder(owner, [{ productId: indicator.id, quantity: 1 }]);
    await settled(placed.id, owner);

    const read = await stack.request(OrderDocument, { id: placed.id }, intruder);
    expect(read.data?.order ?? null).toBeNull();
    const cancel = await stack.request(CancelOrderDocument, { id: placed.id }, intruder);
    expect(cancel.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const anonymous = await stack.request(OrderDocument, { id: placed.id });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
