import { randomUUID } from 'node:crypto';
import {
  AddToCartDocument,
  ApproveReturnDocument,
  CheckoutDocument,
  MarkDeliveredDocument,
  OrderReturnsDocument,
  RejectReturnDocument,
  RequestReturnDocument,
  ShipOrderDocument,
  StockDocument,
  StockLedgerDocument,
  type OrderReturnsQuery,
} from '../../../schema/generated/operations';
import { DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { eventually, startStack, type Stack } from './stack';

jest.setTimeout(60_000);

const wallet = DEMO_PRODUCTS.find((product) => product.sku === 'GOOD-HW-WALLET')!;
const unit = { amount: wallet.priceAmount, currency: wallet.currency };

type ReadOrder = NonNullable<OrderReturnsQuery['order']>;

describe('returns through the router (development payment provider)', () => {
  let stack: Stack;
  let admin: string;

  beforeAll(async () => {
    stack = await startStack();
    admin = await stack.mintToken(randomUUID(), 'ADMIN');
  });

  afterAll(async () => {
    await stack?.close();
  });

  const stockOf = async (productId: string) => (await stack.request(StockDocument, { id: productId })).data!.product!.stock!;
  const readOrder = async (orderId: string, token: string): Promise<ReadOrder> => {
    const result = await stack.request(OrderReturnsDocument, { id: orderId }, token);
    expect(result.errors).toBeUndefined();
    return result.data!.order!;
  };
  /** The ledger rows inventory wrote for returns of the order, oldest first. */
  const restockRows = async (productId: string, orderId: string) => {
    const ledger = await stack.request(StockLedgerDocument, { productId, first: 200 }, admin);
    expect(ledger.errors).toBeUndefined();
    return ledger.data!.stockMovements.filter((row) => row.reason.startsWith('return ') && row.reason.endsWith(`of order ${orderId}`)).reverse();
  };

  /** Buys `quantity` wallets with the dev card and waits until the order is PAID and the stock committed. */
  async function buyWallets(token: string, quantity: number): Promise<string> {
    const before = await stockOf(wallet.id);
    expect((await stack.request(AddToCartDocument, { productId: wallet.id, quantity }, token)).errors).toBeUndefined();
    const checkout = await stack.request(CheckoutDocument, { input: { idempotencyKey: randomUUID(), paymentMethod: 'dev-card' } }, token);
    expect(checkout.errors).toBeUndefined();
    const orderId = checkout.data!.checkout.id;
    const paid = await eventually(() => readOrder(orderId, token), (order) => ['PAID', 'CANCELLED'].includes(order.status), `order ${orderId} paid`);
    expect(paid).toMatchObject({ status: 'PAID', payment: { status: 'SUCCEEDED', amount: { amount: quantity * unit.amount, currency: unit.currency } } });
    await eventually(() => stockOf(wallet.id), (stock) => stock.onHand === before.onHand - quantity && stock.reserved === before.reserved, 'stock commit');
    return orderId;
  }

  /** ADMIN ships the order and marks it delivered: FULFILLED. */
  async function deliver(orderId: string): Promise<void> {
    const shipped = await stack.request(ShipOrderDocument, { id: orderId, trackingNumber: 'TRACK-1Z999AA10123456784' }, admin);
    expect(shipped.errors).toBeUndefined();
    expect(shipped.data!.shipOrder).toEqual({ id: orderId, status: 'SHIPPED', trackingNumber: 'TRACK-1Z999AA10123456784' });
    const delivered = await stack.request(MarkDeliveredDocument, { id: orderId }, admin);
    expect(delivered.errors).toBeUndefined();
    expect(delivered.data!.markDelivered).toEqual({ id: orderId, status: 'FULFILLED' });
  }

  it('refunds one unit and restocks it when an ADMIN approves a return; a rejected return moves neither money nor stock', async () => {
    const buyer = await stack.mintToken(randomUUID());
    const stranger = await stack.mintToken(randomUUID());
    const orderId = await buyWallets(buyer, 2);

    // Not before delivery.
    const early = await stack.request(RequestReturnDocument, { orderId, lines: [{ productId: wallet.id, quantity: 1 }], reason: 'Changed my mind' }, buyer);
    expect(early.errors?.[0]?.extensions?.code).toBe('CONFLICT');

    await deliver(orderId);
    const sold = await stockOf(wallet.id);

    // Another customer cannot return goods of this order (nor learn that it exists).
    const intruder = await stack.request(RequestReturnDocument, { orderId, lines: [{ productId: wallet.id, quantity: 1 }], reason: 'Not mine' }, stranger);
    expect(intruder.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(intruder.data?.requestReturn ?? null).toBeNull();

    // ---- approved: one unit back, one unit's price refunded
    const requested = await stack.request(RequestReturnDocument, { orderId, lines: [{ productId: wallet.id, quantity: 1 }], reason: 'Arrived with a cracked case' }, buyer);
    expect(requested.errors).toBeUndefined();
    const returned = requested.data!.requestReturn;
    expect(returned).toMatchObject({ status: 'REQUESTED', reason: 'Arrived with a cracked case', lines: [{ product: { id: wallet.id }, quantity: 1 }], refund: unit });

    // Customers do not decide returns.
    expect((await stack.request(ApproveReturnDocument, { id: returned.id }, buyer)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const approved = await stack.request(ApproveReturnDocument, { id: returned.id }, admin);
    expect(approved.errors).toBeUndefined();
    expect(approved.data!.approveReturn).toMatchObject({ id: returned.id, status: 'APPROVED' });
    expect((await stack.request(ApproveReturnDocument, { id: returned.id }, admin)).errors?.[0]?.extensions?.code).toBe('CONFLICT');

    const refunded = await eventually(
      () => readOrder(orderId, buyer),
      (order) => order.payment?.refunds.length === 1 && order.history.some((entry) => entry.reason?.startsWith('REFUND_ISSUED') ?? false),
      'refund of the approved return',
    );
    const payment = refunded.payment!;
    expect(payment.status).toBe('PARTIALLY_REFUNDED');
    expect(payment.refunds).toEqual([{ id: expect.any(String), status: 'SUCCEEDED', reason: `Return ${returned.id} approved`, amount: unit }]);
    const refund = payment.refunds[0]!;
    expect(refunded.status).toBe('FULFILLED');
    expect(refunded.returns).toEqual([{ id: returned.id, status: 'APPROVED', reason: 'Arrived with a cracked case', decisionNote: null, refund: unit }]);
    expect(refunded.history.slice(-3)).toEqual([
      { status: 'FULFILLED', reason: `RETURN_REQUESTED: return ${returned.id}` },
      { status: 'FULFILLED', reason: `RETURN_APPROVED: return ${returned.id}` },
      { status: 'FULFILLED', reason: `REFUND_ISSUED: refund ${refund.id} of ${unit.amount} ${unit.currency} for payment ${payment.id}` },
    ]);

    const restocked = await eventually(() => stockOf(wallet.id), (stock) => stock.onHand === sold.onHand + 1, 'restock of the approved return');
    expect(restocked).toEqual({ onHand: sold.onHand + 1, reserved: sold.reserved, available: sold.available + 1 });
    expect(await restockRows(wallet.id, orderId)).toEqual([
      { delta: 1, reason: `return ${returned.id} of order ${orderId}`, onHandAfter: sold.onHand + 1, actorId: 'reservations' },
    ]);

    // At most what was bought: one unit is left to return.
    const tooMany = await stack.request(RequestReturnDocument, { orderId, lines: [{ productId: wallet.id, quantity: 2 }], reason: 'Both, please' }, buyer);
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    // ---- rejected: nothing moves
    const second = await stack.request(RequestReturnDocument, { orderId, lines: [{ productId: wallet.id, quantity: 1 }], reason: 'Do not need two' }, buyer);
    expect(second.errors).toBeUndefined();
    const secondId = second.data!.requestReturn.id;
    const rejected = await stack.request(RejectReturnDocument, { id: secondId, reason: 'Opened and used' }, admin);
    expect(rejected.errors).toBeUndefined();
    expect(rejected.data!.rejectReturn).toMatchObject({ id: secondId, status: 'REJECTED', decisionNote: 'Opened and used' });
    expect((await stack.request(ApproveReturnDocument, { id: secondId }, admin)).errors?.[0]?.extensions?.code).toBe('CONFLICT');

    const afterReject = await readOrder(orderId, buyer);
    expect(afterReject.payment).toEqual(payment);
    expect(afterReject.returns.map(({ id, status }) => ({ id, status }))).toEqual([
      { id: returned.id, status: 'APPROVED' },
      { id: secondId, status: 'REJECTED' },
    ]);
    expect(afterReject.history.at(-1)).toEqual({ status: 'FULFILLED', reason: `RETURN_REJECTED: return ${secondId}` });
    expect(await stockOf(wallet.id)).toEqual(restocked);

    // A rejected return does not count against what may be returned: the unit can be asked for again. Once that
    // approval has been refunded and restocked, the books show exactly the approved returns, never the rejected one.
    const third = await stack.request(RequestReturnDocument, { orderId, lines: [{ productId: wallet.id, quantity: 1 }], reason: 'Sealed this time' }, buyer);
    expect(third.errors).toBeUndefined();
    const thirdId = third.data!.requestReturn.id;
    expect((await stack.request(ApproveReturnDocument, { id: thirdId }, admin)).errors).toBeUndefined();

    const settled = await eventually(() => readOrder(orderId, buyer), (order) => order.payment?.status === 'REFUNDED', 'refund of the last unit');
    expect(settled.payment!.refunds.map(({ status, reason, amount }) => ({ status, reason, amount }))).toEqual([
      { status: 'SUCCEEDED', reason: `Return ${returned.id} approved`, amount: unit },
      { status: 'SUCCEEDED', reason: `Return ${thirdId} approved`, amount: unit },
    ]);
    await eventually(() => stockOf(wallet.id), (stock) => stock.onHand === sold.onHand + 2, 'restock of the last unit');
    expect((await restockRows(wallet.id, orderId)).map((row) => row.reason)).toEqual([`return ${returned.id} of order ${orderId}`, `return ${thirdId} of order ${orderId}`]);
  });
});
