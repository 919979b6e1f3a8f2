import { randomUUID } from 'node:crypto';
import { errorCode, MARK_DELIVERED, MONEY, ORDER, SHIP, startOrders, type OrdersHarness, type TestProduct } from './harness';

const RETURN_FIELDS = `id status reason lines { product { id } quantity } refund { ${MONEY} } decisionNote createdAt decidedAt order { id status }`;
const REQUEST_RETURN = `mutation($orderId: ID!, $lines: [ReturnLineInput!]!, $reason: String!) {
  requestReturn(orderId: $orderId, lines: $lines, reason: $reason) { ${RETURN_FIELDS} }
}`;
const APPROVE_RETURN = `mutation($id: ID!) { approveReturn(id: $id) { ${RETURN_FIELDS} } }`;
const REJECT_RETURN = `mutation($id: ID!, $reason: String) { rejectReturn(id: $id, reason: $reason) { ${RETURN_FIELDS} } }`;
const RETURN_REQUESTS = `query($status: ReturnStatus) { returnRequests(status: $status) { id status } }`;
const ORDER_RETURNS = `query($id: ID!) { order(id: $id) { history { status reason } returns { id status } } }`;

describe('returns', () => {
  let h: OrdersHarness;
  let good: TestProduct;
  let other: TestProduct;
  let indicator: TestProduct;

  beforeAll(async () => {
    h = await startOrders();
    good = await h.product({ kind: 'GOOD', priceAmount: 5500 });
    other = await h.product({ kind: 'GOOD', priceAmount: 1800 });
    indicator = await h.product({ kind: 'INDICATOR', priceAmount: 4900 });
  });

  afterAll(async () => {
    await h?.close();
  });

  /** A delivered order of 3 × good, 1 × other and 1 × indicator. */
  const deliveredOrder = async (): Promise<Record<string, any>> => {
    const placed = await h.placeOrder([
      { productId: good.productId, quantity: 3 },
      { productId: other.productId, quantity: 1 },
      { productId: indicator.productId, quantity: 1 },
    ]);
    await h.deliver(h.envelope('StockReserved', { orderId: placed.id, reservationId: randomUUID() }));
    await h.deliver(h.envelope('PaymentSucceeded', { orderId: placed.id, paymentId: `pay-${placed.id}`, amount: placed.total.amount, currency: 'USD' }));
    expect((await h.request(SHIP, { id: placed.id, trackingNumber: 'TRK' }, h.admin)).errors).toBeUndefined();
    expect((await h.request(MARK_DELIVERED, { id: placed.id }, h.admin)).data!.markDelivered.status).toBe('FULFILLED');
    return placed;
  };
  const requestReturn = (orderId: string, lines: { productId: string; quantity: number }[], token = h.customer, reason = 'Arrived damaged') =>
    h.request(REQUEST_RETURN, { orderId, lines, reason }, token);

  it('lets the customer return delivered goods; an ADMIN approval emits ReturnApproved', async () => {
    const order = await deliveredOrder();
    const requested = await requestReturn(order.id, [{ productId: good.productId, quantity: 2 }]);
    expect(requested.errors).toBeUndefined();
    const ret = requested.data!.requestReturn;
    expect(ret).toMatchObject({
      status: 'REQUESTED',
      reason: 'Arrived damaged',
      lines: [{ product: { id: good.productId }, quantity: 2 }],
      refund: { amount: 11000, currency: 'USD' },
      decidedAt: null,
      order: { id: order.id, status: 'FULFILLED' },
    });
    expect((await h.request(RETURN_REQUESTS, {}, h.admin)).data!.returnRequests).toContainEqual({ id: ret.id, status: 'REQUESTED' });

    const approved = await h.request(APPROVE_RETURN, { id: ret.id }, h.admin);
    expect(approved.errors).toBeUndefined();
    expect(approved.data!.approveReturn).toMatchObject({ status: 'APPROVED', decidedAt: expect.any(String) });
    expect(await h.outbox('ReturnApproved', order.id)).toEqual([
      {
        type: 'ReturnApproved',
        subject: order.id,
        source: 'orders',
        data: {
          orderId: order.id,
          returnId: ret.id,
          userId: order.user.id,
          paymentId: `pay-${order.id}`,
          lines: [{ productId: good.productId, kind: 'GOOD', quantity: 2 }],
          amount: 11000,
          currency: 'USD',
        },
      },
    ]);
    expect(errorCode(await h.request(APPROVE_RETURN, { id: ret.id }, h.admin))).toBe('CONFLICT');
    expect(errorCode(await h.request(REJECT_RETURN, { id: ret.id }, h.admin))).toBe('CONFLICT');
    expect(await h.outbox('ReturnApproved', order.id)).toHaveLength(1);

    const seen = (await h.request(ORDER_RETURNS, { id: order.id }, h.customer)).data!.order;
    expect(seen.returns).toEqual([{ id: ret.id, status: 'APPROVED' }]);
    expect(seen.history.slice(-2).map((entry: { reason: string }) => entry.reason)).toEqual([`RETURN_REQUESTED: return ${ret.id}`, `RETURN_APPROVED: return ${ret.id}`]);
    expect(seen.history.every((entry: { status: string }, index: number) => index < 5 || entry.status === 'FULFILLED')).toBe(true);
  });

  it('never returns more units than were bought, counting open and approved returns', async () => {
    const order = await deliveredOrder();
    expect((await requestReturn(order.id, [{ productId: good.productId, quantity: 2 }])).errors).toBeUndefined();
    expect(errorCode(await requestReturn(order.id, [{ productId: good.productId, quantity: 2 }]))).toBe('BAD_USER_INPUT');
    const last = await requestReturn(order.id, [{ productId: good.productId, quantity: 1 }]);
    expect(last.errors).toBeUndefined();
    // A rejected return gives its units back.
    const rejected = await h.request(REJECT_RETURN, { id: last.data!.requestReturn.id, reason: 'Not in original packaging' }, h.admin);
    expect(rejected.data!.rejectReturn).toMatchObject({ status: 'REJECTED', decisionNote: 'Not in original packaging' });
    expect((await requestReturn(order.id, [{ productId: good.productId, quantity: 1 }])).errors).toBeUndefined();
    expect(await h.outbox('ReturnApproved', order.id)).toEqual([]);
  });

  it('takes 10 concurrent requests for the last units once', async () => {
    const order = await deliveredOrder();
    const results = await Promise.all(Array.from({ length: 10 }, () => requestReturn(order.id, [{ productId: other.productId, quantity: 1 }])));
    expect(results.filter((result) => !result.errors)).toHaveLength(1);
    expect(results.filter((result) => errorCode(result) === 'BAD_USER_INPUT')).toHaveLength(9);
  });

  it('refuses returns before delivery, of digital products, of unknown products and by others, writing nothing', async () => {
    const delivered = await deliveredOrder();
    const paidOnly = await h.placeOrder([{ productId: good.productId, quantity: 1 }]);
    const before = await h.count('order_return');
    expect(errorCode(await requestReturn(paidOnly.id, [{ productId: good.productId, quantity: 1 }]))).toBe('CONFLICT');
    expect(errorCode(await requestReturn(delivered.id, [{ productId: indicator.productId, quantity: 1 }]))).toBe('BAD_USER_INPUT');
    expect(errorCode(await requestReturn(delivered.id, [{ productId: randomUUID(), quantity: 1 }]))).toBe('BAD_USER_INPUT');
    expect(errorCode(await requestReturn(delivered.id, [{ productId: good.productId, quantity: 0 }]))).toBe('BAD_USER_INPUT');
    expect(errorCode(await requestReturn(delivered.id, []))).toBe('BAD_USER_INPUT');
    expect(errorCode(await requestReturn(delivered.id, [{ productId: good.productId, quantity: 1 }], h.customer, '  '))).toBe('BAD_USER_INPUT');
    expect(
      errorCode(
        await requestReturn(delivered.id, [
          { productId: good.productId, quantity: 1 },
          { productId: good.productId, quantity: 1 },
        ]),
      ),
    ).toBe('BAD_USER_INPUT');
    expect(errorCode(await requestReturn(delivered.id, [{ productId: good.productId, quantity: 1 }], h.other))).toBe('NOT_FOUND');
    expect(errorCode(await requestReturn(delivered.id, [{ productId: good.productId, quantity: 1 }], h.admin))).toBe('FORBIDDEN');
    expect(await h.count('order_return')).toBe(before);
    expect((await h.request(ORDER, { id: delivered.id }, h.customer)).data!.order.history).toHaveLength(6);
  });

  it('leaves decisions and the list to ADMINs', async () => {
    const order = await deliveredOrder();
    const ret = (await requestReturn(order.id, [{ productId: other.productId, quantity: 1 }])).data!.requestReturn;
    expect(errorCode(await h.request(APPROVE_RETURN, { id: ret.id }, h.customer))).toBe('FORBIDDEN');
    expect(errorCode(await h.request(REJECT_RETURN, { id: ret.id }, h.customer))).toBe('FORBIDDEN');
    expect(errorCode(await h.request(RETURN_REQUESTS, {}, h.customer))).toBe('FORBIDDEN');
    expect(errorCode(await h.request(APPROVE_RETURN, { id: randomUUID() }, h.admin))).toBe('NOT_FOUND');
    expect((await h.request(ORDER_RETURNS, { id: order.id }, h.customer)).data!.order.returns).toEqual([{ id: ret.id, status: 'REQUESTED' }]);
  });
});
