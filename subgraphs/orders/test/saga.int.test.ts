import { randomUUID } from 'node:crypto';
import { CANCEL, errorCode, MARK_DELIVERED, ORDER, SHIP, startOrders, type OrdersHarness, type TestProduct } from './harness';

describe('checkout saga', () => {
  let h: OrdersHarness;
  let good: TestProduct;
  let indicator: TestProduct;
  let plan: TestProduct;

  beforeAll(async () => {
    h = await startOrders();
    good = await h.product({ kind: 'GOOD', priceAmount: 7900, sku: 'GOOD-HW-WALLET', name: 'Hardware wallet' });
    indicator = await h.product({ kind: 'INDICATOR', priceAmount: 4900, sku: 'IND-RSI-DIV', name: null });
    plan = await h.product({ kind: 'PLAN', priceAmount: 1900, sku: 'PLAN-PRO' });
  });

  afterAll(async () => {
    await h?.close();
  });

  const order = async (id: string, token = h.customer) => {
    const result = await h.request(ORDER, { id }, token);
    expect(result.errors).toBeUndefined();
    return result.data!.order;
  };
  const statuses = async (id: string) => (await order(id)).history.map((entry: { status: string }) => entry.status);
  const types = async (orderId: string) => (await h.outbox(undefined, orderId)).map((event) => event.type);

  const stockReserved = (orderId: string, reservationId = randomUUID()) =>
    h.envelope('StockReserved', { orderId, reservationId, expiresAt: new Date(Date.now() + 900_000).toISOString() }, { source: 'inventory' });
  const paymentSucceeded = (orderId: string, amount: number, paymentId: string = randomUUID()) =>
    h.envelope('PaymentSucceeded', { orderId, paymentId, amount, currency: 'USD' }, { source: 'payments' });

  /** An order taken to AWAITING_PAYMENT, with its reservation id. */
  const awaitingPayment = async (items: { productId: string; quantity: number }[]): Promise<Record<string, any>> => {
    const placed = await h.placeOrder(items);
    const reserved = stockReserved(placed.id);
    await h.deliver(reserved);
    return { ...placed, reservationId: reserved.data.reservationId as string };
  };

  it('StockReserved: AWAITING_PAYMENT and PaymentRequested, once even when redelivered', async () => {
    const placed = await h.placeOrder([
      { productId: good.productId, quantity: 2 },
      { productId: indicator.productId, quantity: 1 },
    ]);
    const reserved = stockReserved(placed.id);
    await h.deliver(reserved);
    await h.deliver(reserved);

    expect(await order(placed.id)).toMatchObject({ status: 'AWAITING_PAYMENT', cancelReason: null });
    expect(await statuses(placed.id)).toEqual(['PENDING', 'AWAITING_PAYMENT']);
    expect(await h.outbox('PaymentRequested', placed.id)).toEqual([
      {
        type: 'PaymentRequested',
        subject: placed.id,
        source: 'orders',
        data: {
          orderId: placed.id,
          userId: placed.user.id,
          amount: 20700,
          currency: 'USD',
          paymentMethod: 'card-visa',
          items: [
            { productId: good.productId, sku: 'GOOD-HW-WALLET', kind: 'GOOD', quantity: 2, unitAmount: 7900 },
            { productId: indicator.productId, sku: 'IND-RSI-DIV', kind: 'INDICATOR', quantity: 1, unitAmount: 4900 },
          ],
        },
      },
    ]);
  });

  it('StockRejected: CANCELLED OUT_OF_STOCK and OrderCancelled, no payment requested', async () => {
    const placed = await h.placeOrder([{ productId: good.productId, quantity: 1 }]);
    const rejected = h.envelope('StockRejected', { orderId: placed.id, reason: 'insufficient stock', productIds: [good.productId] }, { source: 'inventory' });
    await h.deliver(rejected);
    await h.deliver(rejected);

    const cancelled = await order(placed.id);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', cancelReason: 'OUT_OF_STOCK' });
    expect(cancelled.history).toEqual([
      expect.objectContaining({ status: 'PENDING' }),
      expect.objectContaining({ status: 'CANCELLED', reason: 'OUT_OF_STOCK' }),
    ]);
    expect(await types(placed.id)).toEqual(['OrderPlaced', 'OrderCancelled']);
    expect((await h.outbox('OrderCancelled', placed.id))[0]!.data).toEqual({
      orderId: placed.id,
      userId: placed.user.id,
      reason: 'OUT_OF_STOCK',
      lines: [{ productId: good.productId, kind: 'GOOD', quantity: 1 }],
    });
  });

  it('PaymentSucceeded for goods: PAID and OrderConfirmed, waiting to be shipped', async () => {
    const placed = await awaitingPayment([{ productId: good.productId, quantity: 1 }]);
    const paid = paymentSucceeded(placed.id, 7900);
    await h.deliver(paid);
    await h.deliver(paid);

    expect(await order(placed.id)).toMatchObject({ status: 'PAID' });
    expect(await statuses(placed.id)).toEqual(['PENDING', 'AWAITING_PAYMENT', 'PAID']);
    expect(await types(placed.id)).toEqual(['OrderPlaced', 'PaymentRequested', 'OrderConfirmed']);
    expect((await h.outbox('OrderConfirmed', placed.id))[0]!.data).toEqual({
      orderId: placed.id,
      userId: placed.user.id,
      totalAmount: 7900,
      currency: 'USD',
      lines: [{ productId: good.productId, sku: 'GOOD-HW-WALLET', name: 'Hardware wallet', kind: 'GOOD', quantity: 1, unitAmount: 7900 }],
    });
    expect(await h.outbox('PlanChanged', placed.user.id)).toEqual([]);
  });

  it('PaymentSucceeded for digital products only: PAID then FULFILLED, with PlanChanged for the plan', async () => {
    const userId = randomUUID();
    const token = await h.issuer.sign(userId, 'CUSTOMER');
    const placed = await h.placeOrder(
      [
        { productId: indicator.productId, quantity: 1 },
        { productId: plan.productId, quantity: 1 },
      ],
      token,
    );
    await h.deliver(stockReserved(placed.id));
    const paid = paymentSucceeded(placed.id, 6800);
    await h.deliver(paid);
    await h.deliver(paid);

    const fulfilled = await order(placed.id, token);
    expect(fulfilled.status).toBe('FULFILLED');
    expect(fulfilled.history.map((entry: { status: string; reason: string | null }) => [entry.status, entry.reason])).toEqual([
      ['PENDING', null],
      ['AWAITING_PAYMENT', null],
      ['PAID', null],
      ['FULFILLED', 'DIGITAL_DELIVERY'],
    ]);
    const [confirmed, ...again] = await h.outbox('OrderConfirmed', placed.id);
    expect(again).toEqual([]);
    // The indicator's snapshot came from a ProductChanged without a name.
    expect(confirmed!.data).toMatchObject({ totalAmount: 6800, lines: [{ sku: 'IND-RSI-DIV', name: null }, { sku: 'PLAN-PRO', name: 'Test product' }] });
    expect(await h.outbox('PlanChanged', userId)).toEqual([
      { type: 'PlanChanged', subject: userId, source: 'orders', data: { userId, productId: plan.productId, sku: 'PLAN-PRO', plan: 'PRO' } },
    ]);
  });

  it('PaymentSucceeded for goods and a plan: PAID (goods still to ship) and PlanChanged', async () => {
    const userId = randomUUID();
    const token = await h.issuer.sign(userId, 'CUSTOMER');
    const placed = await h.placeOrder(
      [
        { productId: good.productId, quantity: 1 },
        { productId: plan.productId, quantity: 1 },
      ],
      token,
    );
    await h.deliver(stockReserved(placed.id));
    await h.deliver(paymentSucceeded(placed.id, 9800));
    expect((await order(placed.id, token)).status).toBe('PAID');
    expect(await h.outbox('PlanChanged', userId)).toHaveLength(1);
  });

  it('a free order is paid without asking payments', async () => {
    const free = await h.product({ kind: 'PLAN', priceAmount: 0, sku: 'PLAN-FREE' });
    const userId = randomUUID();
    const token = await h.issuer.sign(userId, 'CUSTOMER');
    const placed = await h.placeOrder([{ productId: free.productId, quantity: 1 }], token);
    await h.deliver(stockReserved(placed.id));
    expect((await order(placed.id, token)).history.map((entry: { status: string }) => entry.status)).toEqual(['PENDING', 'AWAITING_PAYMENT', 'PAID', 'FULFILLED']);
    expect(await types(placed.id)).toEqual(['OrderPlaced', 'OrderConfirmed']);
    expect((await h.outbox('PlanChanged', userId))[0]!.data.plan).toBe('FREE');
  });

  it('PaymentFailed: CANCELLED PAYMENT_FAILED and OrderCancelled naming the reservation, once', async () => {
    const placed = await awaitingPayment([{ productId: good.productId, quantity: 3 }]);
    const failed = h.envelope('PaymentFailed', { orderId: placed.id, paymentId: randomUUID(), reason: 'card_declined' }, { source: 'payments' });
    await h.deliver(failed);
    await h.deliver(failed);

    expect(await order(placed.id)).toMatchObject({ status: 'CANCELLED', cancelReason: 'PAYMENT_FAILED' });
    expect(await statuses(placed.id)).toEqual(['PENDING', 'AWAITING_PAYMENT', 'CANCELLED']);
    expect(await types(placed.id)).toEqual(['OrderPlaced', 'PaymentRequested', 'OrderCancelled']);
    expect((await h.outbox('OrderCancelled', placed.id))[0]!.data).toEqual({
      orderId: placed.id,
      userId: placed.user.id,
      reason: 'PAYMENT_FAILED',
      lines: [{ productId: good.productId, kind: 'GOOD', quantity: 3 }],
      reservationId: placed.reservationId,
    });
  });

  it('ReservationExpired: CANCELLED EXPIRED and OrderCancelled, once', async () => {
    const placed = await awaitingPayment([{ productId: good.productId, quantity: 1 }]);
    const expired = h.envelope('ReservationExpired', { orderId: placed.id, reservationId: placed.reservationId }, { source: 'inventory' });
    await h.deliver(expired);
    await h.deliver(expired);
    expect(await order(placed.id)).toMatchObject({ status: 'CANCELLED', cancelReason: 'EXPIRED' });
    expect(await types(placed.id)).toEqual(['OrderPlaced', 'PaymentRequested', 'OrderCancelled']);
  });

  it('ReservationExpired changes nothing once paid, or for another reservation', async () => {
    const paidOrder = await awaitingPayment([{ productId: good.productId, quantity: 1 }]);
    await h.deliver(paymentSucceeded(paidOrder.id, 7900));
    await h.deliver(h.envelope('ReservationExpired', { orderId: paidOrder.id, reservationId: paidOrder.reservationId }));
    expect((await order(paidOrder.id)).status).toBe('PAID');
    expect(await types(paidOrder.id)).toEqual(['OrderPlaced', 'PaymentRequested', 'OrderConfirmed']);

    const waiting = await awaitingPayment([{ productId: good.productId, quantity: 1 }]);
    await h.deliver(h.envelope('ReservationExpired', { orderId: waiting.id, reservationId: randomUUID() }));
    expect((await order(waiting.id)).status).toBe('AWAITING_PAYMENT');
  });

  it('a late PaymentSucceeded keeps a cancelled order CANCELLED and records the payment for a refund, once', async () => {
    const placed = await awaitingPayment([{ productId: good.productId, quantity: 1 }]);
    await h.deliver(h.envelope('ReservationExpired', { orderId: placed.id, reservationId: placed.reservationId }));
    const before = (await h.server.sagaMetrics.latePayments.get()).values[0]?.value ?? 0;
    const late = paymentSucceeded(placed.id, 7900, 'pay-late-1');
    await h.deliver(late);
    await h.deliver(late);

    const cancelled = await order(placed.id);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', cancelReason: 'EXPIRED' });
    expect(cancelled.history.map((entry: { status: string }) => entry.status)).toEqual(['PENDING', 'AWAITING_PAYMENT', 'CANCELLED', 'CANCELLED']);
    expect(cancelled.history[3].reason).toMatch(/^LATE_PAYMENT: payment pay-late-1 of 7900 USD/);
    expect(await types(placed.id)).toEqual(['OrderPlaced', 'PaymentRequested', 'OrderCancelled']);
    const [row] = await h.sql('select "payment_id" from "orders" where "id" = ?', [placed.id]);
    expect(row!.payment_id).toBe('pay-late-1');
    expect((await h.server.sagaMetrics.latePayments.get()).values[0]!.value).toBe(before + 1);

    // payments' refund is noted in the history once.
    const refund = h.envelope('RefundIssued', { orderId: placed.id, paymentId: 'pay-late-1', refundId: 're-1', amount: 7900, currency: 'USD' });
    await h.deliver(refund);
    await h.deliver({ ...refund, id: randomUUID() });
    const refunded = await order(placed.id);
    expect(refunded.history.map((entry: { reason: string | null }) => entry.reason).filter((reason: string | null) => reason?.startsWith('REFUND_ISSUED'))).toHaveLength(1);
    expect(refunded.status).toBe('CANCELLED');
  });

  it('notes a failed refund in the history once, the status unchanged', async () => {
    const placed = await awaitingPayment([{ productId: good.productId, quantity: 1 }]);
    await h.deliver(paymentSucceeded(placed.id, 7900, 'pay-refund-1'));
    const failed = h.envelope('RefundFailed', {
      orderId: placed.id,
      paymentId: 'pay-refund-1',
      refundId: 're-failed-1',
      amount: 7900,
      currency: 'USD',
      reason: 'provider_rejected: charge_disputed',
      previouslyIssued: false,
    });
    await h.deliver(failed);
    await h.deliver({ ...failed, id: randomUUID() });

    const noted = await order(placed.id);
    expect(noted.status).toBe('PAID');
    expect(noted.history.map((entry: { reason: string | null }) => entry.reason).filter((reason: string | null) => reason?.startsWith('REFUND_FAILED'))).toEqual([
      'REFUND_FAILED: refund re-failed-1 of 7900 USD for payment pay-refund-1 failed (provider_rejected: charge_disputed)',
    ]);
  });

  it('ignores replies that do not apply to the order state', async () => {
    const placed = await h.placeOrder([{ productId: good.productId, quantity: 1 }]);
    // A payment can only follow a reservation; a stray one changes nothing.
    await h.deliver(paymentSucceeded(placed.id, 7900));
    await h.deliver(h.envelope('PaymentFailed', { orderId: placed.id, paymentId: randomUUID(), reason: 'x' }));
    expect(await order(placed.id)).toMatchObject({ status: 'PENDING' });
    await h.deliver(stockReserved(placed.id));
    // A second reservation for an order already awaiting payment is a duplicate.
    await h.deliver(stockReserved(placed.id));
    await h.deliver(h.envelope('StockRejected', { orderId: placed.id, reason: 'x', productIds: [] }));
    expect(await statuses(placed.id)).toEqual(['PENDING', 'AWAITING_PAYMENT']);
    expect(await h.outbox('PaymentRequested', placed.id)).toHaveLength(1);
    // Unknown orders are skipped.
    await expect(h.deliver(stockReserved(randomUUID()))).resolves.toBeUndefined();
  });

  it('refuses malformed replies without changing the order', async () => {
    const placed = await awaitingPayment([{ productId: good.productId, quantity: 1 }]);
    await expect(h.deliver(paymentSucceeded(placed.id, 1))).rejects.toThrow(/does not match/);
    await expect(h.deliver(h.envelope('PaymentSucceeded', { orderId: placed.id, amount: 7900, currency: 'USD' }))).rejects.toThrow(/paymentId/);
    await expect(h.deliver(h.envelope('StockReserved', { orderId: 'not-a-uuid', reservationId: 'r' }))).rejects.toThrow(/UUID/);
    expect(await statuses(placed.id)).toEqual(['PENDING', 'AWAITING_PAYMENT']);
  });

  it('applies one of two racing replies (payment vs expiry), never both', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 8; round += 1) {
      const placed = await awaitingPayment([{ productId: good.productId, quantity: 1 }]);
      const paid = paymentSucceeded(placed.id, 7900);
      const expired = h.envelope('ReservationExpired', { orderId: placed.id, reservationId: placed.reservationId });
      await Promise.all(round % 2 === 0 ? [h.deliver(paid), h.deliver(expired)] : [h.deliver(expired), h.deliver(paid)]);

      const final = await order(placed.id);
      const events = await types(placed.id);
      if (final.status === 'PAID') {
        expect(events).toEqual(['OrderPlaced', 'PaymentRequested', 'OrderConfirmed']);
        expect(final.history.map((entry: { status: string }) => entry.status)).toEqual(['PENDING', 'AWAITING_PAYMENT', 'PAID']);
      } else {
        expect(final).toMatchObject({ status: 'CANCELLED', cancelReason: 'EXPIRED' });
        expect(events).toEqual(['OrderPlaced', 'PaymentRequested', 'OrderCancelled']);
        expect(final.history[final.history.length - 1].reason).toMatch(/^LATE_PAYMENT/);
      }
      outcomes.push(final.status);
    }
    expect(outcomes.every((status) => status === 'PAID' || status === 'CANCELLED')).toBe(true);
  });

  describe('cancelOrder', () => {
    it('lets the owner cancel before payment: CANCELLED CUSTOMER and OrderCancelled', async () => {
      const placed = await awaitingPayment([{ productId: good.productId, quantity: 1 }]);
      const result = await h.request(CANCEL, { id: placed.id }, h.customer);
      expect(result.errors).toBeUndefined();
      expect(result.data!.cancelOrder).toMatchObject({ status: 'CANCELLED', cancelReason: 'CUSTOMER' });
      expect(await types(placed.id)).toEqual(['OrderPlaced', 'PaymentRequested', 'OrderCancelled']);

      const again = await h.request(CANCEL, { id: placed.id }, h.customer);
      expect(errorCode(again)).toBe('CONFLICT');
      expect(await h.outbox('OrderCancelled', placed.id)).toHaveLength(1);
    });

    it('asks inventory once more to release a reservation that arrives after the cancellation', async () => {
      const placed = await h.placeOrder([{ productId: good.productId, quantity: 1 }]);
      expect((await h.request(CANCEL, { id: placed.id }, h.customer)).data!.cancelOrder.status).toBe('CANCELLED');
      const reserved = stockReserved(placed.id);
      await h.deliver(reserved);
      await h.deliver(reserved);
      const final = await order(placed.id);
      expect(final).toMatchObject({ status: 'CANCELLED', cancelReason: 'CUSTOMER' });
      const cancellations = await h.outbox('OrderCancelled', placed.id);
      expect(cancellations.map((event) => event.data.reservationId)).toEqual([undefined, reserved.data.reservationId]);
      expect(await h.outbox('PaymentRequested', placed.id)).toEqual([]);
    });

    it('refuses once paid with CONFLICT', async () => {
      const placed = await awaitingPayment([{ productId: good.productId, quantity: 1 }]);
      await h.deliver(paymentSucceeded(placed.id, 7900));
      expect(errorCode(await h.request(CANCEL, { id: placed.id }, h.customer))).toBe('CONFLICT');
      expect((await order(placed.id)).status).toBe('PAID');
    });
  });

  describe('shipping', () => {
    it('ships a PAID order with goods, then delivers it: DELIVERED in history, FULFILLED', async () => {
      const placed = await awaitingPayment([{ productId: good.productId, quantity: 1 }]);
      expect(errorCode(await h.request(SHIP, { id: placed.id, trackingNumber: 'TRK-1' }, h.admin))).toBe('CONFLICT'); // not paid yet
      await h.deliver(paymentSucceeded(placed.id, 7900));

      expect(errorCode(await h.request(SHIP, { id: placed.id, trackingNumber: 'TRK-1' }, h.customer))).toBe('FORBIDDEN');
      expect(errorCode(await h.request(SHIP, { id: placed.id, trackingNumber: '  ' }, h.admin))).toBe('BAD_USER_INPUT');
      const shipped = await h.request(SHIP, { id: placed.id, trackingNumber: 'TRK-1' }, h.admin);
      expect(shipped.errors).toBeUndefined();
      expect(shipped.data!.shipOrder).toMatchObject({ status: 'SHIPPED', trackingNumber: 'TRK-1' });
      expect(errorCode(await h.request(SHIP, { id: placed.id, trackingNumber: 'TRK-2' }, h.admin))).toBe('CONFLICT');
      // One OrderShipped (the buyer's mail), from the one shipment that happened.
      expect(await h.outbox('OrderShipped', placed.id)).toEqual([
        { type: 'OrderShipped', subject: placed.id, source: 'orders', data: { orderId: placed.id, userId: placed.user.id, trackingNumber: 'TRK-1' } },
      ]);

      expect(errorCode(await h.request(MARK_DELIVERED, { id: placed.id }, h.customer))).toBe('FORBIDDEN');
      const delivered = await h.request(MARK_DELIVERED, { id: placed.id }, h.admin);
      expect(delivered.errors).toBeUndefined();
      expect(delivered.data!.markDelivered.status).toBe('FULFILLED');
      expect(delivered.data!.markDelivered.history.map((entry: { status: string }) => entry.status)).toEqual([
        'PENDING',
        'AWAITING_PAYMENT',
        'PAID',
        'SHIPPED',
        'DELIVERED',
        'FULFILLED',
      ]);
      expect(errorCode(await h.request(MARK_DELIVERED, { id: placed.id }, h.admin))).toBe('CONFLICT');
    });

    it('has nothing to ship for a digital order', async () => {
      const placed = await awaitingPayment([{ productId: indicator.productId, quantity: 1 }]);
      await h.deliver(paymentSucceeded(placed.id, 4900));
      expect(errorCode(await h.request(SHIP, { id: placed.id, trackingNumber: 'TRK-9' }, h.admin))).toBe('CONFLICT');
      expect(errorCode(await h.request(SHIP, { id: randomUUID(), trackingNumber: 'TRK-9' }, h.admin))).toBe('NOT_FOUND');
    });
  });

  it('counts completed and compensated sagas and their duration', async () => {
    const metrics = h.server.sagaMetrics;
    const completedBefore = (await metrics.completed.get()).values[0]?.value ?? 0;
    const compensatedBefore = (await metrics.compensated.get()).values.find((value) => value.labels.reason === 'PAYMENT_FAILED')?.value ?? 0;

    const paid = await awaitingPayment([{ productId: good.productId, quantity: 1 }]);
    await h.deliver(paymentSucceeded(paid.id, 7900));
    const failed = await awaitingPayment([{ productId: good.productId, quantity: 1 }]);
    await h.deliver(h.envelope('PaymentFailed', { orderId: failed.id, paymentId: randomUUID(), reason: 'card_declined' }));

    expect((await metrics.completed.get()).values[0]!.value).toBe(completedBefore + 1);
    expect((await metrics.compensated.get()).values.find((value) => value.labels.reason === 'PAYMENT_FAILED')!.value).toBe(compensatedBefore + 1);
    const exposed = await (await fetch(h.url.replace('/graphql', '/metrics'))).text();
    expect(exposed).toMatch(/^orders_saga_completed_total\{service="orders"\} \d+$/m);
    expect(exposed).toMatch(/^orders_saga_compensated_total\{[^}]*reason="PAYMENT_FAILED"[^}]*\} \d+$/m);
    expect(exposed).toMatch(/^orders_saga_duration_seconds_count\{[^}]*outcome="completed"[^}]*\} \d+$/m);
    expect(exposed).toMatch(/^orders_saga_duration_seconds_count\{[^}]*outcome="compensated"[^}]*\} \d+$/m);
  });
});
