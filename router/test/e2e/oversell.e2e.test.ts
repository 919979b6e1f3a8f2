import { randomUUID } from 'node:crypto';
import { AddToCartDocument, AdjustStockDocument, CheckoutDocument, CreateProductDocument, OrderDocument, StockDocument } from '../../../schema/generated/operations';
import { eventually, startStack, type Stack } from './stack';

const UNITS = 50;
const BUYERS = 200;

jest.setTimeout(240_000);

describe('no overselling under concurrent checkouts', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });

  afterAll(async () => {
    await stack.close();
  });

  it(`sells exactly ${UNITS} units to ${BUYERS} concurrent buyers and never goes negative`, async () => {
    const admin = await stack.mintToken(randomUUID(), 'ADMIN');
    const created = await stack.request(
      CreateProductDocument,
      { input: { sku: 'GOOD-LIMITED-RUN', name: 'Limited run', description: 'Fifty made.', kind: 'GOOD', price: { amount: 9900, currency: 'USD' } } },
      admin,
    );
    expect(created.errors).toBeUndefined();
    const productId = created.data!.createProduct.id;
    expect((await stack.request(AdjustStockDocument, { productId, delta: UNITS, reason: 'first batch' }, admin)).errors).toBeUndefined();

    const buyers = await Promise.all(Array.from({ length: BUYERS }, () => stack.mintToken(randomUUID())));
    // Orders learns the new product from catalog's ProductChanged event; wait until it sells it.
    await eventually(
      () => stack.request(AddToCartDocument, { productId, quantity: 1 }, buyers[0]!),
      (result) => !result.errors,
      'ProductChanged reaching orders',
    );
    await Promise.all(buyers.slice(1).map(async (token) => expect((await stack.request(AddToCartDocument, { productId, quantity: 1 }, token)).errors).toBeUndefined()));

    let lowestAvailable = UNITS;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const stock = (await stack.request(StockDocument, { id: productId })).data!.product!.stock!;
        lowestAvailable = Math.min(lowestAvailable, stock.available, stock.onHand - stock.reserved);
      }
    })();
    const settle = async () => {
      const orderIds = await Promise.all(
        buyers.map(async (token) => {
          const placed = await stack.request(CheckoutDocument, { input: { idempotencyKey: randomUUID(), paymentMethod: 'dev-card' } }, token);
          expect(placed.errors).toBeUndefined();
          return { token, id: placed.data!.checkout.id };
        }),
      );
      const outcomes = await Promise.all(
        orderIds.map(({ token, id }) =>
          eventually(
            () => stack.request(OrderDocument, { id }, token).then((result) => result.data!.order!),
            (order) => ['PAID', 'CANCELLED'].includes(order.status),
            `order ${id}`,
            120_000,
          ),
        ),
      );
      const finalStock = await eventually(
        () => stack.request(StockDocument, { id: productId }).then((result) => result.data!.product!.stock!),
        (stock) => stock.reserved === 0,
        'stock commits',
      );
      return { outcomes, finalStock };
    };
    // Sampling stops however the sagas end, before afterAll closes the stack under the sampler.
    let settled: Awaited<ReturnType<typeof settle>> | undefined;
    try {
      settled = await settle();
    } finally {
      sampling = false;
      // A sampler error fails the test unless the sagas already failed it.
      await sampler.catch((error: unknown) => {
        if (settled) throw error;
      });
    }
    const { outcomes, finalStock } = settled;

    expect(outcomes.filter((order) => order.status === 'PAID')).toHaveLength(UNITS);
    const cancelled = outcomes.filter((order) => order.status === 'CANCELLED');
    expect(cancelled).toHaveLength(BUYERS - UNITS);
    expect(cancelled.every((order) => order.cancelReason === 'OUT_OF_STOCK' && order.payment === null)).toBe(true);
    expect(finalStock).toEqual({ onHand: 0, reserved: 0, available: 0 });
    expect(lowestAvailable).toBeGreaterThanOrEqual(0);
  });
});
