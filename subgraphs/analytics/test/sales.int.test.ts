import { randomUUID } from 'node:crypto';
import { startHarness, type Harness } from './harness';
import {
  envelope,
  orderCancelled,
  orderConfirmed,
  paymentFailed,
  paymentSucceeded,
  productChanged,
  refundFailed,
  refundIssued,
  reservationExpired,
  returnApproved,
} from './support';

jest.setTimeout(60_000);

const REPORT = `query Report($from: DateTimeISO!, $to: DateTimeISO!, $currency: String) {
  salesReport(from: $from, to: $to, currency: $currency) {
    currency from to orders
    revenue { amount currency } refunds { amount } net { amount } averageOrderValue { amount }
    days { date orders revenue { amount } refunds { amount } net { amount } }
  }
}`;

const PRODUCT_STATS = `query Stats($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Product { id salesStats { unitsSold unitsReturned revenue { amount currency } } } }
}`;

/** Each test works on days of its own, so reports never see another test's sales. */
const at = (day: string, time = '12:00:00') => new Date(`${day}T${time}.000Z`);

describe('analytics sales rollups (real Postgres, Redis and BullMQ)', () => {
  let harness: Harness;
  let admin: string;
  let customer: string;

  beforeAll(async () => {
    harness = await startHarness('analytics_sales');
    admin = await harness.issuer.sign(randomUUID(), 'ADMIN');
    customer = await harness.issuer.sign(randomUUID(), 'CUSTOMER');
  });

  afterAll(async () => {
    await harness?.close();
  });

  const report = async (from: string, to: string, currency?: string) => {
    const result = await harness.query(REPORT, { from: at(from, '00:00:00'), to: at(to, '23:59:59'), currency }, admin);
    expect(result.errors).toBeUndefined();
    return result.data!.salesReport;
  };
  const statsOf = async (ids: string[], token = admin) =>
    harness.query(PRODUCT_STATS, { representations: ids.map((id) => ({ __typename: 'Product', id })) }, token);
  const salesStats = async (id: string) => {
    const result = await statsOf([id]);
    expect(result.errors).toBeUndefined();
    return result.data!._entities[0].salesStats;
  };

  it('turns a paid, confirmed order into revenue, orders and product units', async () => {
    const [wallet, indicator] = [randomUUID(), randomUUID()];
    const orderId = randomUUID();
    await harness.deliverAll([
      productChanged(wallet, 12_900, at('2023-01-02', '08:00:00')),
      productChanged(indicator, 4_900, at('2023-01-02', '08:00:00')),
      paymentSucceeded(orderId, 2 * 12_900 + 4_900, at('2023-01-03', '10:00:00')),
      orderConfirmed(orderId, [{ productId: wallet, quantity: 2 }, { productId: indicator, quantity: 1, kind: 'INDICATOR' }], at('2023-01-03', '10:00:01')),
    ]);

    expect(await report('2023-01-02', '2023-01-04')).toEqual({
      currency: 'USD',
      from: '2023-01-02',
      to: '2023-01-04',
      orders: 1,
      revenue: { amount: 30_700, currency: 'USD' },
      refunds: { amount: 0 },
      net: { amount: 30_700 },
      averageOrderValue: { amount: 30_700 },
      days: [
        { date: '2023-01-02', orders: 0, revenue: { amount: 0 }, refunds: { amount: 0 }, net: { amount: 0 } },
        { date: '2023-01-03', orders: 1, revenue: { amount: 30_700 }, refunds: { amount: 0 }, net: { amount: 30_700 } },
        { date: '2023-01-04', orders: 0, revenue: { amount: 0 }, refunds: { amount: 0 }, net: { amount: 0 } },
      ],
    });
    const both = await statsOf([wallet, indicator, randomUUID()]);
    expect(both.errors).toBeUndefined();
    expect(both.data!._entities.map((entity: { salesStats: unknown }) => entity.salesStats)).toEqual([
      { unitsSold: 2, unitsReturned: 0, revenue: [{ amount: 25_800, currency: 'USD' }] },
      { unitsSold: 1, unitsReturned: 0, revenue: [{ amount: 4_900, currency: 'USD' }] },
      { unitsSold: 0, unitsReturned: 0, revenue: [] },
    ]);
    const [confirmed] = await harness.sql<{ confirmed: number }>(`select "confirmed" from "daily_orders" where "day" = '2023-01-03'`);
    expect(confirmed).toEqual({ confirmed: 1 });
  });

  it('counts a sale once whichever of payment and confirmation arrives first', async () => {
    const product = randomUUID();
    const [first, second] = [randomUUID(), randomUUID()];
    await harness.deliver(productChanged(product, 1_000, at('2023-02-01', '00:00:01')));
    // Confirmation before payment: nothing to count until the money is known.
    await harness.deliver(orderConfirmed(first, [{ productId: product, quantity: 3 }], at('2023-02-02')));
    expect(await salesStats(product)).toEqual({ unitsSold: 0, unitsReturned: 0, revenue: [] });
    await harness.deliver(paymentSucceeded(first, 3_000, at('2023-02-02')));
    // Payment before confirmation.
    await harness.deliver(paymentSucceeded(second, 1_000, at('2023-02-02')));
    await harness.deliver(orderConfirmed(second, [{ productId: product, quantity: 1 }], at('2023-02-02')));
    expect(await salesStats(product)).toEqual({ unitsSold: 4, unitsReturned: 0, revenue: [{ amount: 4_000, currency: 'USD' }] });
    const settled = await harness.sql<{ n: number }>(`select count(*)::int as "n" from "sale_order" where "order_id" in (?, ?) and "settled_at" is not null`, [first, second]);
    expect(settled).toEqual([{ n: 2 }]);
  });

  it('settles concurrent payment and confirmation of one order exactly once', async () => {
    const product = randomUUID();
    const orders = Array.from({ length: 8 }, () => randomUUID());
    await harness.deliver(productChanged(product, 500, at('2023-02-10', '00:00:01')));
    await Promise.all(
      orders.flatMap((orderId) => [harness.deliver(paymentSucceeded(orderId, 500, at('2023-02-11'))), harness.deliver(orderConfirmed(orderId, [{ productId: product, quantity: 1 }], at('2023-02-11')))]),
    );
    expect(await salesStats(product)).toEqual({ unitsSold: 8, unitsReturned: 0, revenue: [{ amount: 4_000, currency: 'USD' }] });
    expect((await report('2023-02-11', '2023-02-11')).orders).toBe(8);
  });

  it('applies a redelivered event once (inbox) and a second payment of one order once', async () => {
    const product = randomUUID();
    const orderId = randomUUID();
    const payment = paymentSucceeded(orderId, 2_500, at('2023-03-01'));
    await harness.deliver(productChanged(product, 2_500, at('2023-03-01', '00:00:01')));
    expect(await harness.deliver(payment)).toBe('processed');
    // The relay republishing after the completed job was removed: same event id, new job.
    expect(await harness.deliver(payment, `${payment.id}-again`)).toBe('duplicate');
    // The same fact under a new event id (a producer retry) adds nothing either.
    expect(await harness.deliver(paymentSucceeded(orderId, 2_500, at('2023-03-01', '12:00:05')))).toBe('processed');
    const confirmation = orderConfirmed(orderId, [{ productId: product, quantity: 1 }], at('2023-03-01'));
    await harness.deliver(confirmation);
    expect(await harness.deliver(confirmation, `${confirmation.id}-again`)).toBe('duplicate');

    expect(await report('2023-03-01', '2023-03-01')).toMatchObject({ orders: 1, revenue: { amount: 2_500 } });
    expect(await salesStats(product)).toEqual({ unitsSold: 1, unitsReturned: 0, revenue: [{ amount: 2_500, currency: 'USD' }] });
    const [{ n }] = await harness.sql<{ n: number }>(`select count(*)::int as "n" from "inbox" where "event_id" = ?`, [payment.id]);
    expect(n).toBe(1);
  });

  it('counts refunds on their day and takes back one Stripe failed afterwards', async () => {
    const orderId = randomUUID();
    const [kept, reversed, failedFirst] = [randomUUID(), randomUUID(), randomUUID()];
    await harness.deliverAll([
      paymentSucceeded(orderId, 10_000, at('2023-04-01')),
      refundIssued(orderId, kept, 3_000, at('2023-04-02')),
      refundIssued(orderId, reversed, 2_000, at('2023-04-02')),
      refundFailed(orderId, reversed, 2_000, at('2023-04-05')),
      // A failure that arrives before its issue: the refund never counts.
      refundFailed(orderId, failedFirst, 1_000, at('2023-04-03')),
      refundIssued(orderId, failedFirst, 1_000, at('2023-04-02')),
    ]);
    const figures = await report('2023-04-01', '2023-04-05');
    expect(figures).toMatchObject({ orders: 1, revenue: { amount: 10_000 }, refunds: { amount: 3_000 }, net: { amount: 7_000 } });
    expect(figures.days.map((day: { refunds: { amount: number } }) => day.refunds.amount)).toEqual([0, 3_000, 0, 0, 0]);
    // Redelivered under new event ids, nothing moves.
    await harness.deliverAll([refundIssued(orderId, kept, 3_000, at('2023-04-02')), refundFailed(orderId, reversed, 2_000, at('2023-04-05'))]);
    expect((await report('2023-04-01', '2023-04-05')).refunds).toEqual({ amount: 3_000 });
  });

  it('keeps currencies apart and reports the default currency when none is asked', async () => {
    await harness.deliverAll([paymentSucceeded(randomUUID(), 700, at('2023-05-01'), 'EUR'), paymentSucceeded(randomUUID(), 300, at('2023-05-01'), 'USD')]);
    expect(await report('2023-05-01', '2023-05-01', 'EUR')).toMatchObject({ currency: 'EUR', orders: 1, revenue: { amount: 700, currency: 'EUR' } });
    expect(await report('2023-05-01', '2023-05-01')).toMatchObject({ currency: 'USD', orders: 1, revenue: { amount: 300, currency: 'USD' } });
  });

  it('averages order values and counts the other order events per day', async () => {
    const day = '2023-06-01';
    const product = randomUUID();
    const sold = randomUUID();
    await harness.deliverAll([
      paymentSucceeded(sold, 1_000, at(day)),
      paymentSucceeded(randomUUID(), 1_001, at(day)),
      paymentFailed(randomUUID(), at(day)),
      orderCancelled(randomUUID(), at(day)),
      reservationExpired(randomUUID(), at(day)),
      orderConfirmed(sold, [{ productId: product, quantity: 2 }], at(day)),
      returnApproved(sold, [{ productId: product, quantity: 1 }], 500, at(day)),
    ]);
    expect((await report(day, day)).averageOrderValue).toEqual({ amount: 1_001 });
    expect(await harness.sql(`select "confirmed", "cancelled", "payment_failures", "reservations_expired", "returns" from "daily_orders" where "day" = ?`, [day])).toEqual([
      { confirmed: 1, cancelled: 1, payment_failures: 1, reservations_expired: 1, returns: 1 },
    ]);
    expect(await salesStats(product)).toEqual({ unitsSold: 2, unitsReturned: 1, revenue: [{ amount: 1_000, currency: 'USD' }] });
  });

  it('keeps the newest list price when price changes arrive out of order', async () => {
    const product = randomUUID();
    const other = randomUUID();
    const orderId = randomUUID();
    await harness.deliverAll([
      productChanged(product, 3_000, at('2023-07-01', '10:00:00')),
      productChanged(product, 1_000, at('2023-07-01', '09:00:00')),
      productChanged(other, 1_000, at('2023-07-01', '09:00:00')),
      paymentSucceeded(orderId, 4_000, at('2023-07-02')),
      orderConfirmed(orderId, [{ productId: product, quantity: 1 }, { productId: other, quantity: 1 }], at('2023-07-02')),
    ]);
    // Split 3000 : 1000, as the newer price says.
    expect((await salesStats(product)).revenue).toEqual([{ amount: 3_000, currency: 'USD' }]);
    expect((await salesStats(other)).revenue).toEqual([{ amount: 1_000, currency: 'USD' }]);
  });

  it('splits revenue by the unit prices charged, not by list prices changed since', async () => {
    const [indicator, plan] = [randomUUID(), randomUUID()];
    const orderId = randomUUID();
    await harness.deliverAll([
      productChanged(indicator, 1_000, at('2023-07-10', '08:00:00')),
      productChanged(plan, 1_000, at('2023-07-10', '08:00:00')),
      // Bought at 3000 and 1000; the indicator's list price dropped before the order settled.
      productChanged(indicator, 500, at('2023-07-11', '09:00:00')),
      paymentSucceeded(orderId, 4_000, at('2023-07-11', '10:00:00')),
      orderConfirmed(
        orderId,
        [
          { productId: indicator, quantity: 1, kind: 'INDICATOR', unitAmount: 3_000 },
          { productId: plan, quantity: 1, kind: 'PLAN', unitAmount: 1_000 },
        ],
        at('2023-07-11', '10:00:01'),
      ),
    ]);
    expect((await salesStats(indicator)).revenue).toEqual([{ amount: 3_000, currency: 'USD' }]);
    expect((await salesStats(plan)).revenue).toEqual([{ amount: 1_000, currency: 'USD' }]);
  });

  it('logs, counts and acknowledges a malformed payload without writing anything', async () => {
    const orderId = randomUUID();
    const bad = envelope('PaymentSucceeded', 'payments', { orderId, amount: '12.50', currency: 'USD' }, at('2023-08-01'));
    expect(await harness.deliver(bad)).toBe('processed');
    const badLines = envelope('OrderConfirmed', 'orders', { orderId, userId: randomUUID(), lines: 'all of them' }, at('2023-08-01'));
    expect(await harness.deliver(badLines)).toBe('processed');
    expect(await harness.sql(`select * from "sale_order" where "order_id" = ?`, [orderId])).toEqual([]);
    expect((await report('2023-08-01', '2023-08-01')).orders).toBe(0);
    expect(await harness.queue.getFailedCount()).toBe(0);
    const metrics = await (await fetch(`${harness.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/analytics_events_malformed_total\{type="PaymentSucceeded"[^}]*\} 1/);
    expect(metrics).toMatch(/analytics_events_malformed_total\{type="OrderConfirmed"[^}]*\} 1/);
    // A well-formed event after it is applied as usual.
    await harness.deliver(paymentSucceeded(orderId, 1_250, at('2023-08-01')));
    expect((await report('2023-08-01', '2023-08-01')).revenue).toEqual({ amount: 1_250, currency: 'USD' });
  });

  // After the malformed-payload test: that one counts the malformed events it sends.
  it('refuses a line whose unit price is not whole minor units', async () => {
    const orderId = randomUUID();
    const fractional = envelope('OrderConfirmed', 'orders', { orderId, userId: randomUUID(), lines: [{ productId: randomUUID(), quantity: 1, unitAmount: 12.5 }] }, at('2023-08-05'));
    expect(await harness.deliver(fractional)).toBe('processed');
    expect(await harness.sql(`select * from "sale_order" where "order_id" = ?`, [orderId])).toEqual([]);
  });

  it('shows reports and product figures to ADMINs only', async () => {
    const variables = { from: at('2023-01-01'), to: at('2023-01-02') };
    const asCustomer = await harness.query(REPORT, variables, customer);
    expect(asCustomer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = await harness.query(REPORT, variables);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const kpis = await harness.query('{ kpis { ordersToday } }', {}, customer);
    expect(kpis.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const alerts = await harness.query('{ lowStockAlerts { occurredAt } }', {}, customer);
    expect(alerts.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const stats = await statsOf([randomUUID()], customer);
    expect(stats.errors?.[0]).toMatchObject({ path: ['_entities', 0, 'salesStats'], extensions: { code: 'FORBIDDEN' } });
    expect(stats.data!._entities[0].salesStats).toBeNull();
  });

  it('refuses a reversed or too long range and a malformed currency', async () => {
    const reversed = await harness.query(REPORT, { from: at('2023-02-02'), to: at('2023-02-01') }, admin);
    expect(reversed.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'to' } });
    const tooLong = await harness.query(REPORT, { from: at('2020-01-01'), to: at('2023-01-01') }, admin);
    expect(tooLong.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const currency = await harness.query(REPORT, { from: at('2023-01-01'), to: at('2023-01-01'), currency: 'usd' }, admin);
    expect(currency.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('serves /health, /ready with Redis, and /metrics with the consumer counters', async () => {
    expect(await (await fetch(`${harness.baseUrl}/health`)).json()).toMatchObject({ status: 'ok', service: 'analytics' });
    const ready = await fetch(`${harness.baseUrl}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });
    expect(await (await fetch(`${harness.baseUrl}/metrics`)).text()).toMatch(/events_consumed_total\{subgraph="analytics",type="PaymentSucceeded"/);
  });
});
