import { randomUUID } from 'node:crypto';
import {
  AddToCartDocument,
  CheckoutDocument,
  KpisDocument,
  MyTradingStatsDocument,
  OrderDocument,
  ProductSalesStatsDocument,
  RegisterDocument,
  SalesReportDocument,
} from '../../../schema/generated/operations';
import { DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { eventQueue } from '../../../subgraphs/kit/src/events/testing';
import { eventually, startStack, type Stack } from './stack';

const bySku = (sku: string) => DEMO_PRODUCTS.find((product) => product.sku === sku)!;
const wallet = bySku('GOOD-HW-WALLET');
const indicator = bySku('IND-RSI-DIV');
const DAY_MS = 24 * 3600 * 1000;

describe('analytics through the router', () => {
  let stack: Stack;
  let admin: string;

  beforeAll(async () => {
    stack = await startStack();
    admin = await stack.mintToken(randomUUID(), 'ADMIN');
  });

  afterAll(async () => {
    await stack.close();
  });

  async function customer(): Promise<string> {
    const registered = await stack.request(RegisterDocument, { input: { email: `${randomUUID()}@example.com`, password: 'a-long-password-1', name: 'Buyer' } });
    return registered.data!.register.accessToken;
  }

  // Around now, so a run across midnight UTC still finds the sale.
  const range = () => ({ from: new Date(Date.now() - DAY_MS).toISOString(), to: new Date(Date.now() + DAY_MS).toISOString(), currency: 'USD' });

  it('reports a paid checkout to admins: revenue, product units, and a drained event queue', async () => {
    const token = await customer();
    for (const line of [
      { productId: wallet.id, quantity: 2 },
      { productId: indicator.id, quantity: 1 },
    ]) {
      expect((await stack.request(AddToCartDocument, line, token)).errors).toBeUndefined();
    }
    const checkout = await stack.request(CheckoutDocument, { input: { idempotencyKey: randomUUID(), paymentMethod: 'dev-card' } }, token);
    expect(checkout.errors).toBeUndefined();
    const placed = checkout.data!.checkout;
    const total = 2 * wallet.priceAmount + indicator.priceAmount;
    await eventually(
      () => stack.request(OrderDocument, { id: placed.id }, token).then((result) => result.data!.order!.status),
      (status) => status === 'PAID' || status === 'CANCELLED',
      `order ${placed.id}`,
    ).then((status) => expect(status).toBe('PAID'));

    const report = await eventually(
      () => stack.request(SalesReportDocument, range(), admin),
      (result) => result.data?.salesReport.orders === 1,
      'the sale in salesReport',
    );
    expect(report.errors).toBeUndefined();
    expect(report.data!.salesReport).toMatchObject({ currency: 'USD', orders: 1, revenue: { amount: total, currency: 'USD' }, refunds: { amount: 0 }, net: { amount: total }, averageOrderValue: { amount: total } });

    const stats = await eventually(
      () => stack.request(ProductSalesStatsDocument, { id: wallet.id }, admin),
      (result) => (result.data?.product?.salesStats?.unitsSold ?? 0) > 0,
      'the wallet in Product.salesStats',
    );
    expect(stats.errors).toBeUndefined();
    expect(stats.data!.product).toEqual({
      id: wallet.id,
      name: wallet.name,
      salesStats: { unitsSold: 2, unitsReturned: 0, revenue: [{ amount: 2 * wallet.priceAmount, currency: 'USD' }] },
    });

    const kpis = await stack.request(KpisDocument, {}, admin);
    expect(kpis.errors).toBeUndefined();
    // The one checkout of this stack ended paid (its OrderConfirmed was counted before its product units).
    expect(kpis.data!.kpis.checkoutConversion30d).toBe('100.00');

    // Every producer's events reach events-analytics; the consumer leaves nothing waiting or failed.
    const queue = eventQueue('analytics', stack.eventsPrefix);
    try {
      const counts = await eventually(
        () => queue.getJobCounts('wait', 'active', 'delayed', 'failed'),
        (jobs) => jobs.wait + jobs.active + jobs.delayed === 0,
        'events-analytics drained',
      );
      expect(counts.failed).toBe(0);
    } finally {
      await queue.close();
    }
  });

  it('keeps reports from customers and shows a user their own trading stats', async () => {
    const token = await customer();
    const report = await stack.request(SalesReportDocument, range(), token);
    expect(report.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(report.data ?? null).toBeNull();

    // The product still resolves; only the admin figures are refused.
    const stats = await stack.request(ProductSalesStatsDocument, { id: wallet.id }, token);
    expect(stats.errors?.[0]).toMatchObject({ path: ['product', 'salesStats'], extensions: { code: 'FORBIDDEN' } });
    expect(stats.data!.product).toEqual({ id: wallet.id, name: wallet.name, salesStats: null });

    const kpis = await stack.request(KpisDocument, {}, token);
    expect(kpis.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const mine = await stack.request(MyTradingStatsDocument, {}, token);
    expect(mine.errors).toBeUndefined();
    expect(mine.data!.me!.tradingStats).toEqual([]);
  });
});
