import { randomUUID } from 'node:crypto';
import { ADD_TO_CART, CART, CHECKOUT, errorCode, startOrders, type OrdersHarness } from './harness';

describe('checkout', () => {
  let h: OrdersHarness;

  beforeAll(async () => {
    h = await startOrders();
  });

  afterAll(async () => {
    await h?.close();
  });

  const newCustomer = async () => {
    const userId = randomUUID();
    return { userId, token: await h.issuer.sign(userId, 'CUSTOMER') };
  };
  const checkout = (token: string, idempotencyKey = `key-${randomUUID()}`, paymentMethod = 'card-visa') =>
    h.request(CHECKOUT, { input: { idempotencyKey, paymentMethod } }, token);

  it('writes the order, its OrderPlaced event and empties the cart', async () => {
    const { userId, token } = await newCustomer();
    const wallet = await h.product({ priceAmount: 7900, kind: 'GOOD' });
    const indicator = await h.product({ priceAmount: 4900, kind: 'INDICATOR', sku: 'IND-RSI' });
    await h.request(ADD_TO_CART, { productId: wallet.productId, quantity: 2 }, token);
    await h.request(ADD_TO_CART, { productId: indicator.productId, quantity: 1 }, token);

    const result = await checkout(token);
    expect(result.errors).toBeUndefined();
    const order = result.data!.checkout;
    expect(order).toMatchObject({
      status: 'PENDING',
      cancelReason: null,
      total: { amount: 20700, currency: 'USD' },
      trackingNumber: null,
      user: { id: userId },
      lines: [
        { product: { id: wallet.productId }, quantity: 2, unitPrice: { amount: 7900, currency: 'USD' }, lineTotal: { amount: 15800, currency: 'USD' } },
        { product: { id: indicator.productId }, quantity: 1, unitPrice: { amount: 4900, currency: 'USD' }, lineTotal: { amount: 4900, currency: 'USD' } },
      ],
      history: [{ status: 'PENDING', reason: null }],
    });

    expect(await h.outbox('OrderPlaced', order.id)).toEqual([
      {
        type: 'OrderPlaced',
        subject: order.id,
        source: 'orders',
        data: {
          orderId: order.id,
          userId,
          lines: [
            { productId: wallet.productId, kind: 'GOOD', quantity: 2 },
            { productId: indicator.productId, kind: 'INDICATOR', quantity: 1 },
          ],
          total: { amount: 20700, currency: 'USD' },
        },
      },
    ]);
    expect((await h.request(CART, {}, token)).data!.cart).toMatchObject({ lines: [], total: { amount: 0 } });
    expect(await h.count('order_line', 'order_id = ?', [order.id])).toBe(2);
  });

  it('charges the price the snapshot has at checkout time', async () => {
    const { token } = await newCustomer();
    const product = await h.product({ priceAmount: 1000 });
    await h.request(ADD_TO_CART, { productId: product.productId, quantity: 3 }, token);
    await h.product({ ...product, priceAmount: 1200 });
    const order = (await checkout(token)).data!.checkout;
    expect(order.total).toEqual({ amount: 3600, currency: 'USD' });
    // Later price changes do not touch a placed order.
    await h.product({ ...product, priceAmount: 5 });
    const [row] = await h.sql('select "total_amount" from "orders" where "id" = ?', [order.id]);
    expect(row!.total_amount).toBe(3600);
  });

  it('returns the same order for a repeated idempotency key, with one OrderPlaced', async () => {
    const { userId, token } = await newCustomer();
    const product = await h.product({ priceAmount: 2500 });
    await h.request(ADD_TO_CART, { productId: product.productId, quantity: 1 }, token);
    const key = `retry-${randomUUID()}`;
    const first = await checkout(token, key);
    const second = await checkout(token, key);
    expect(second.errors).toBeUndefined();
    expect(second.data!.checkout.id).toBe(first.data!.checkout.id);

    // Even with something new in the cart, the key names the first order; the cart is left alone.
    await h.request(ADD_TO_CART, { productId: product.productId, quantity: 2 }, token);
    const third = await checkout(token, key);
    expect(third.data!.checkout).toMatchObject({ id: first.data!.checkout.id, total: { amount: 2500 } });
    expect(await h.count('orders', 'user_id = ?', [userId])).toBe(1);
    expect(await h.outbox('OrderPlaced', first.data!.checkout.id)).toHaveLength(1);
    expect((await h.request(CART, {}, token)).data!.cart.lines).toHaveLength(1);

    // Another customer may use the same key for an order of their own.
    const other = await newCustomer();
    await h.request(ADD_TO_CART, { productId: product.productId, quantity: 1 }, other.token);
    const theirs = await checkout(other.token, key);
    expect(theirs.data!.checkout.id).not.toBe(first.data!.checkout.id);
  });

  it('places one order when the same key is sent 10 times at once', async () => {
    const { userId, token } = await newCustomer();
    const product = await h.product();
    await h.request(ADD_TO_CART, { productId: product.productId, quantity: 1 }, token);
    const key = `burst-${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 10 }, () => checkout(token, key)));
    expect(results.flatMap((result) => result.errors ?? [])).toEqual([]);
    expect(new Set(results.map((result) => result.data!.checkout.id)).size).toBe(1);
    expect(await h.count('orders', 'user_id = ?', [userId])).toBe(1);
    expect(await h.count('outbox', `type = 'OrderPlaced' and data->>'userId' = ?`, [userId])).toBe(1);
  });

  describe('refusals write nothing', () => {
    const nothingWritten = async (userId: string, cartLines: number) => {
      expect(await h.count('orders', 'user_id = ?', [userId])).toBe(0);
      expect(await h.count('outbox', `data->>'userId' = ?`, [userId])).toBe(0);
      expect(await h.count('cart_line', 'cart_id in (select id from cart where user_id = ?)', [userId])).toBe(cartLines);
    };

    it('refuses an empty cart', async () => {
      const { userId, token } = await newCustomer();
      expect(errorCode(await checkout(token))).toBe('BAD_USER_INPUT');
      await nothingWritten(userId, 0);
    });

    it.each([
      ['a 7-character key', { idempotencyKey: 'abcdefg' }, 'idempotencyKey'],
      ['a 101-character key', { idempotencyKey: 'k'.repeat(101) }, 'idempotencyKey'],
      ['a blank key', { idempotencyKey: ' '.repeat(10) }, 'idempotencyKey'],
      ['an empty payment method', { paymentMethod: '' }, 'paymentMethod'],
    ])('refuses %s with BAD_USER_INPUT', async (_name, change, field) => {
      const { userId, token } = await newCustomer();
      const product = await h.product();
      await h.request(ADD_TO_CART, { productId: product.productId, quantity: 1 }, token);
      const result = await h.request(CHECKOUT, { input: { idempotencyKey: `key-${randomUUID()}`, paymentMethod: 'card', ...change } }, token);
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
      expect(result.errors![0]!.extensions!.fields.map((problem: { field: string }) => problem.field)).toContain(field);
      await nothingWritten(userId, 1);
    });

    it('refuses a cart whose prices ended up in two currencies', async () => {
      const { userId, token } = await newCustomer();
      const a = await h.product({ currency: 'USD' });
      const b = await h.product({ currency: 'USD' });
      await h.request(ADD_TO_CART, { productId: a.productId, quantity: 1 }, token);
      await h.request(ADD_TO_CART, { productId: b.productId, quantity: 1 }, token);
      await h.product({ ...a, currency: 'EUR' });
      const result = await checkout(token);
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
      expect(result.errors![0]!.message).toMatch(/currencies/);
      await nothingWritten(userId, 2);
      // The cart itself says so too.
      expect(errorCode(await h.request(CART, {}, token))).toBe('BAD_USER_INPUT');
    });

    it('refuses a cart holding a product no longer for sale', async () => {
      const { userId, token } = await newCustomer();
      const product = await h.product();
      await h.request(ADD_TO_CART, { productId: product.productId, quantity: 1 }, token);
      await h.product({ ...product, active: false });
      const result = await checkout(token);
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
      expect(result.errors![0]!.message).toContain(product.productId);
      await nothingWritten(userId, 1);
    });

    it('rolls the order and the emptied cart back when the outbox write fails', async () => {
      const { userId, token } = await newCustomer();
      const product = await h.product();
      await h.request(ADD_TO_CART, { productId: product.productId, quantity: 4 }, token);
      // Make the OrderPlaced insert of this user fail inside the checkout transaction.
      await h.sql(`create or replace function "fail_outbox_for_test"() returns trigger language plpgsql as $$
        begin if new.data->>'userId' = '${userId}' then raise exception 'outbox unavailable'; end if; return new; end; $$`);
      await h.sql('create trigger "fail_outbox_for_test" before insert on "outbox" for each row execute function "fail_outbox_for_test"()');
      try {
        const result = await checkout(token);
        expect(errorCode(result)).toBe('INTERNAL_SERVER_ERROR');
      } finally {
        await h.sql('drop trigger "fail_outbox_for_test" on "outbox"');
      }
      await nothingWritten(userId, 1);
      expect(await h.count('order_line', 'product_id = ?', [product.productId])).toBe(0);
      expect(await h.count('order_history', 'order_id not in (select id from orders)')).toBe(0);
      // And the checkout goes through once the outbox works again.
      expect((await checkout(token)).data!.checkout.total.amount).toBe(4000);
    });
  });

  it('requires a signed-in caller', async () => {
    const result = await h.request(CHECKOUT, { input: { idempotencyKey: 'x', paymentMethod: '' } });
    expect(errorCode(result)).toBe('UNAUTHENTICATED');
  });
});
