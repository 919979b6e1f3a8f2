import { randomUUID } from 'node:crypto';
import { ADD_TO_CART, CART, CUSTOMER_ID, errorCode, REMOVE_CART_LINE, startOrders, UPDATE_CART_LINE, type OrdersHarness } from './harness';

describe('cart', () => {
  let h: OrdersHarness;

  beforeAll(async () => {
    h = await startOrders();
  });

  afterAll(async () => {
    await h?.close();
  });

  /** Each test works on a cart of its own user. */
  const userToken = () => h.issuer.sign(randomUUID(), 'CUSTOMER');

  it('starts empty with a zero total in the default currency', async () => {
    const result = await h.request(CART, {}, await userToken());
    expect(result.errors).toBeUndefined();
    expect(result.data!.cart).toMatchObject({ lines: [], total: { amount: 0, currency: 'USD' } });
    expect(result.data!.cart.id).toEqual(expect.any(String));
  });

  it('prices lines and the total from the product snapshots fed by ProductChanged', async () => {
    const token = await userToken();
    const book = await h.product({ priceAmount: 3900 });
    const mug = await h.product({ priceAmount: 1800 });
    await h.request(ADD_TO_CART, { productId: book.productId, quantity: 2 }, token);
    const result = await h.request(ADD_TO_CART, { productId: mug.productId, quantity: 3 }, token);
    expect(result.errors).toBeUndefined();
    expect(result.data!.addToCart.lines).toEqual([
      { product: { id: book.productId }, quantity: 2, unitPrice: { amount: 3900, currency: 'USD' }, lineTotal: { amount: 7800, currency: 'USD' } },
      { product: { id: mug.productId }, quantity: 3, unitPrice: { amount: 1800, currency: 'USD' }, lineTotal: { amount: 5400, currency: 'USD' } },
    ]);
    expect(result.data!.addToCart.total).toEqual({ amount: 13200, currency: 'USD' });

    // A newer price from catalog is what the cart shows (and what checkout will charge).
    await h.product({ ...book, priceAmount: 3500 });
    const cart = await h.request(CART, {}, token);
    expect(cart.data!.cart.lines[0]).toMatchObject({ unitPrice: { amount: 3500 }, lineTotal: { amount: 7000 } });
    expect(cart.data!.cart.total).toEqual({ amount: 12400, currency: 'USD' });
  });

  it('merges quantities of the same product, up to 100', async () => {
    const token = await userToken();
    const product = await h.product({ priceAmount: 100 });
    await h.request(ADD_TO_CART, { productId: product.productId, quantity: 60 }, token);
    const merged = await h.request(ADD_TO_CART, { productId: product.productId, quantity: 40 }, token);
    expect(merged.data!.addToCart.lines).toEqual([expect.objectContaining({ quantity: 100, lineTotal: { amount: 10000, currency: 'USD' } })]);

    const over = await h.request(ADD_TO_CART, { productId: product.productId, quantity: 1 }, token);
    expect(errorCode(over)).toBe('BAD_USER_INPUT');
    expect((await h.request(CART, {}, token)).data!.cart.lines[0].quantity).toBe(100);
  });

  it('updates and removes lines; 0 removes; removing a missing line changes nothing', async () => {
    const token = await userToken();
    const a = await h.product({ priceAmount: 500 });
    const b = await h.product({ priceAmount: 700 });
    await h.request(ADD_TO_CART, { productId: a.productId, quantity: 1 }, token);
    await h.request(ADD_TO_CART, { productId: b.productId, quantity: 1 }, token);

    const updated = await h.request(UPDATE_CART_LINE, { productId: a.productId, quantity: 4 }, token);
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateCartLine.total).toEqual({ amount: 2700, currency: 'USD' });

    const zero = await h.request(UPDATE_CART_LINE, { productId: b.productId, quantity: 0 }, token);
    expect(zero.data!.updateCartLine.lines.map((line: { product: { id: string } }) => line.product.id)).toEqual([a.productId]);

    const removed = await h.request(REMOVE_CART_LINE, { productId: a.productId }, token);
    expect(removed.data!.removeCartLine).toMatchObject({ lines: [], total: { amount: 0 } });
    const again = await h.request(REMOVE_CART_LINE, { productId: a.productId }, token);
    expect(again.errors).toBeUndefined();

    const missing = await h.request(UPDATE_CART_LINE, { productId: b.productId, quantity: 2 }, token);
    expect(errorCode(missing)).toBe('NOT_FOUND');
  });

  it('takes no price from the client: there is no price argument to send', async () => {
    const product = await h.product({ priceAmount: 4200 });
    const withPrice = await h.request(
      'mutation($productId: ID!) { addToCart(productId: $productId, quantity: 1, unitPrice: 1) { total { amount } } }',
      { productId: product.productId },
      await userToken(),
    );
    expect(errorCode(withPrice)).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  describe('bad input writes nothing', () => {
    it.each([
      ['quantity 0', 0],
      ['quantity -1', -1],
      ['quantity 101', 101],
    ])('refuses %s with BAD_USER_INPUT', async (_name, quantity) => {
      const userId = randomUUID();
      const token = await h.issuer.sign(userId, 'CUSTOMER');
      const product = await h.product();
      const result = await h.request(ADD_TO_CART, { productId: product.productId, quantity }, token);
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
      expect(result.errors![0]!.extensions!.fields.map((field: { field: string }) => field.field)).toContain('quantity');
      expect(await h.count('cart', 'user_id = ?', [userId])).toBe(0);
    });

    it('refuses an unknown product with NOT_FOUND and an inactive one with BAD_USER_INPUT', async () => {
      const userId = randomUUID();
      const token = await h.issuer.sign(userId, 'CUSTOMER');
      const unknown = await h.request(ADD_TO_CART, { productId: randomUUID(), quantity: 1 }, token);
      expect(errorCode(unknown)).toBe('NOT_FOUND');
      const archived = await h.product({ active: false });
      const inactive = await h.request(ADD_TO_CART, { productId: archived.productId, quantity: 1 }, token);
      expect(errorCode(inactive)).toBe('BAD_USER_INPUT');
      expect(await h.count('cart', 'user_id = ?', [userId])).toBe(0);
      expect(await h.count('cart_line', 'product_id in (?, ?)', [archived.productId, randomUUID()])).toBe(0);
    });

    it('refuses a product priced in another currency than the cart', async () => {
      const token = await userToken();
      const usd = await h.product({ currency: 'USD' });
      const eur = await h.product({ currency: 'EUR' });
      await h.request(ADD_TO_CART, { productId: usd.productId, quantity: 1 }, token);
      const mixed = await h.request(ADD_TO_CART, { productId: eur.productId, quantity: 1 }, token);
      expect(errorCode(mixed)).toBe('BAD_USER_INPUT');
      expect(await h.count('cart_line', 'product_id = ?', [eur.productId])).toBe(0);
    });
  });

  it('requires a signed-in caller', async () => {
    const product = await h.product();
    expect(errorCode(await h.request(CART))).toBe('UNAUTHENTICATED');
    expect(errorCode(await h.request(ADD_TO_CART, { productId: product.productId, quantity: 1 }))).toBe('UNAUTHENTICATED');
    // Checked before the arguments: an anonymous caller learns nothing about them.
    expect(errorCode(await h.request(ADD_TO_CART, { productId: product.productId, quantity: 0 }))).toBe('UNAUTHENTICATED');
  });

  it('applies 20 concurrent additions to one line without losing any', async () => {
    const token = await userToken();
    const product = await h.product({ priceAmount: 10 });
    const results = await Promise.all(Array.from({ length: 20 }, () => h.request(ADD_TO_CART, { productId: product.productId, quantity: 5 }, token)));
    expect(results.flatMap((result) => result.errors ?? [])).toEqual([]);
    const cart = await h.request(CART, {}, token);
    expect(cart.data!.cart.lines).toEqual([expect.objectContaining({ quantity: 100, lineTotal: { amount: 1000, currency: 'USD' } })]);
  });

  describe('ProductChanged', () => {
    it('upserts the snapshot and ignores events older than the one it holds', async () => {
      const t0 = new Date('2030-01-01T00:00:00.000Z');
      const product = await h.product({ priceAmount: 1000 }, t0);
      await h.product({ ...product, priceAmount: 2000 }, new Date(t0.getTime() + 2000));
      await h.product({ ...product, priceAmount: 1500, active: false }, new Date(t0.getTime() + 1000)); // late, older
      await h.product({ ...product, priceAmount: 9999 }, new Date(t0.getTime() + 2000)); // same instant: a redelivery
      const [row] = await h.sql('select "price_amount", "active", "source_occurred_at" from "product_snapshot" where "product_id" = ?', [product.productId]);
      expect(row).toMatchObject({ price_amount: 2000, active: true });
      expect(new Date(row!.source_occurred_at).toISOString()).toBe('2030-01-01T00:00:02.000Z');
    });

    it('refuses a malformed payload, writing nothing', async () => {
      const productId = randomUUID();
      const envelope = h.envelope('ProductChanged', { productId, sku: 'X', kind: 'GOOD', priceAmount: -1, currency: 'USD', active: true });
      await expect(h.deliver(envelope)).rejects.toThrow(/priceAmount/);
      expect(await h.count('product_snapshot', 'product_id = ?', [productId])).toBe(0);
    });

    it('keeps a line whose product was archived afterwards (checkout refuses it)', async () => {
      const token = await h.issuer.sign(CUSTOMER_ID, 'CUSTOMER');
      const product = await h.product();
      await h.request(ADD_TO_CART, { productId: product.productId, quantity: 1 }, token);
      await h.product({ ...product, active: false });
      const cart = await h.request(CART, {}, token);
      expect(cart.data!.cart.lines.map((line: { product: { id: string } }) => line.product.id)).toContain(product.productId);
    });
  });
});
