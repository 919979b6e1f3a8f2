import { UnrecoverableError } from 'bullmq';
import {
  cancellationRefundIdempotencyKey,
  cancellationRefundIdFor,
  InvalidEventError,
  parseOrderCancelled,
  parsePaymentRequested,
  parseReturnApproved,
  paymentCancelIdempotencyKey,
  paymentIdempotencyKey,
  paymentIdFor,
  RefundRefusedError,
  refundIdempotencyKey,
  returnRefundIdempotencyKey,
  returnRefundIdFor,
} from '../src/payment/payment.events';
import {
  isPaid,
  paymentAdvances,
  PaymentStatus,
  refundAdvances,
  RefundStatus,
  refundStatusFromStripe,
  statusAfterRefunds,
} from '../src/payment/payment-status';
import { decodeStripeForm } from './support/fake-stripe';

describe('payment states', () => {
  it('only move forward; a failure never overwrites a paid payment, a late success does', () => {
    expect(paymentAdvances(PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION)).toBe(true);
    expect(paymentAdvances(PaymentStatus.REQUIRES_ACTION, PaymentStatus.SUCCEEDED)).toBe(true);
    expect(paymentAdvances(PaymentStatus.REQUIRES_ACTION, PaymentStatus.FAILED)).toBe(true);
    expect(paymentAdvances(PaymentStatus.FAILED, PaymentStatus.SUCCEEDED)).toBe(true);
    expect(paymentAdvances(PaymentStatus.SUCCEEDED, PaymentStatus.FAILED)).toBe(false);
    expect(paymentAdvances(PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.SUCCEEDED)).toBe(false);
    expect(paymentAdvances(PaymentStatus.FAILED, PaymentStatus.FAILED)).toBe(false);
    expect([PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED].every(isPaid)).toBe(true);
    expect([PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION, PaymentStatus.FAILED, PaymentStatus.CANCELLED].some(isPaid)).toBe(false);
  });

  it('rank CANCELLED above FAILED (a late decline is stale) and below SUCCEEDED (money taken anyway is recorded)', () => {
    expect(paymentAdvances(PaymentStatus.REQUIRES_ACTION, PaymentStatus.CANCELLED)).toBe(true);
    expect(paymentAdvances(PaymentStatus.FAILED, PaymentStatus.CANCELLED)).toBe(true);
    expect(paymentAdvances(PaymentStatus.CANCELLED, PaymentStatus.FAILED)).toBe(false);
    expect(paymentAdvances(PaymentStatus.CANCELLED, PaymentStatus.SUCCEEDED)).toBe(true);
    expect(paymentAdvances(PaymentStatus.SUCCEEDED, PaymentStatus.CANCELLED)).toBe(false);
  });

  it('derive refund states: SUCCEEDED may still fail, FAILED is final', () => {
    expect(refundAdvances(RefundStatus.PENDING, RefundStatus.SUCCEEDED)).toBe(true);
    expect(refundAdvances(RefundStatus.SUCCEEDED, RefundStatus.FAILED)).toBe(true);
    expect(refundAdvances(RefundStatus.FAILED, RefundStatus.SUCCEEDED)).toBe(false);
    expect(refundAdvances(RefundStatus.SUCCEEDED, RefundStatus.SUCCEEDED)).toBe(false);
    expect(['succeeded', 'failed', 'canceled', 'pending', 'requires_action', null].map(refundStatusFromStripe)).toEqual([
      RefundStatus.SUCCEEDED,
      RefundStatus.FAILED,
      RefundStatus.FAILED,
      RefundStatus.PENDING,
      RefundStatus.PENDING,
      RefundStatus.PENDING,
    ]);
    expect([0, 1, 999, 1000].map((refunded) => statusAfterRefunds(1000, refunded))).toEqual([
      PaymentStatus.SUCCEEDED,
      PaymentStatus.PARTIALLY_REFUNDED,
      PaymentStatus.PARTIALLY_REFUNDED,
      PaymentStatus.REFUNDED,
    ]);
  });
});

describe('payment identity', () => {
  it('derives the same payment id (a version 5 UUID) from the same order, another from another', () => {
    const id = paymentIdFor('order-1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(paymentIdFor('order-1')).toBe(id);
    expect(paymentIdFor('order-2')).not.toBe(id);
  });

  it('derives idempotency keys from order, amount and currency, and from the refund id', () => {
    expect(paymentIdempotencyKey({ orderId: 'o-1', amount: 1000, currency: 'usd' })).toBe('mercado-payment:o-1:1000:USD');
    expect(paymentIdempotencyKey({ orderId: 'o-1', amount: 1001, currency: 'USD' })).not.toBe(paymentIdempotencyKey({ orderId: 'o-1', amount: 1000, currency: 'USD' }));
    expect(refundIdempotencyKey('r-1')).toBe('mercado-refund:r-1');
  });

  it('derives the refunds the saga asks for from the return or the cancelled order, never colliding', () => {
    expect(returnRefundIdempotencyKey('ret-1')).toBe('mercado-refund:return:ret-1');
    expect(cancellationRefundIdempotencyKey('o-1')).toBe('mercado-refund:o-1:cancelled');
    expect(paymentCancelIdempotencyKey('p-1')).toBe('mercado-payment-cancel:p-1');
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(returnRefundIdFor('x')).toMatch(uuid);
    expect(returnRefundIdFor('x')).toBe(returnRefundIdFor('x'));
    expect(new Set([returnRefundIdFor('x'), cancellationRefundIdFor('x'), paymentIdFor('x'), returnRefundIdFor('y')]).size).toBe(4);
  });
});

describe('parsePaymentRequested', () => {
  const valid = { orderId: 'o-1', userId: 'u-1', amount: 1000, currency: 'usd', paymentMethod: 'card', items: [{ productId: 'p', kind: 'GOOD', quantity: 2, sku: 'S', unitAmount: 500 }] };

  it('accepts the documented shape, upper-cases the currency and keeps product, kind and quantity of items', () => {
    expect(parsePaymentRequested(valid)).toEqual({ ...valid, currency: 'USD', items: [{ productId: 'p', kind: 'GOOD', quantity: 2 }] });
    expect(parsePaymentRequested({ ...valid, paymentMethod: undefined, items: undefined })).toEqual({ orderId: 'o-1', userId: 'u-1', amount: 1000, currency: 'USD', paymentMethod: null });
  });

  it('refuses other shapes as unrecoverable, naming every problem', () => {
    let error: unknown;
    try {
      parsePaymentRequested({ orderId: 'has space', userId: 5, amount: 0, currency: 'US', paymentMethod: 7, items: 'x' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toMatch(/orderId[\s\S]*userId[\s\S]*amount[\s\S]*currency[\s\S]*paymentMethod[\s\S]*items/);
    expect(() => parsePaymentRequested(null)).toThrow(UnrecoverableError);
    expect(() => parsePaymentRequested({ ...valid, amount: 2 ** 31 })).toThrow(/amount/);
  });
});

describe('the fake Stripe form decoder', () => {
  it('decodes the nested keys the SDK sends', () => {
    expect(decodeStripeForm('amount=1000&currency=usd&metadata[orderId]=o-1&metadata[paymentId]=p%201&automatic_payment_methods[enabled]=true')).toEqual({
      amount: '1000',
      currency: 'usd',
      metadata: { orderId: 'o-1', paymentId: 'p 1' },
      automatic_payment_methods: { enabled: 'true' },
    });
  });
});

describe('parseReturnApproved and parseOrderCancelled', () => {
  const approved = { orderId: 'o-1', returnId: 'r-1', userId: 'u-1', paymentId: 'p-1', lines: [{ productId: 'p', kind: 'GOOD', quantity: 1 }], amount: 500, currency: 'eur' };

  it('accept the shapes orders sends', () => {
    expect(parseReturnApproved(approved)).toEqual({ ...approved, currency: 'EUR' });
    expect(parseReturnApproved({ ...approved, paymentId: null, amount: 0, lines: undefined })).toEqual({ ...approved, paymentId: null, amount: 0, lines: [], currency: 'EUR' });
    const cancelled = { orderId: 'o-1', reason: 'EXPIRED', lines: [{ productId: 'p', kind: 'GOOD', quantity: 1 }], reservationId: 'res-1' };
    expect(parseOrderCancelled(cancelled)).toEqual(cancelled);
    expect(parseOrderCancelled({ orderId: 'o-1', reason: 'CUSTOMER', lines: [] })).toEqual({ orderId: 'o-1', reason: 'CUSTOMER', lines: [] });
  });

  it('refuse other shapes as unrecoverable, naming every problem', () => {
    const bad = () => parseReturnApproved({ orderId: 5, returnId: '', userId: null, paymentId: 7, amount: 1.5, currency: 'EURO', lines: 'x' });
    expect(bad).toThrow(InvalidEventError);
    expect(bad).toThrow(UnrecoverableError);
    expect(bad).toThrow(/^Invalid ReturnApproved: orderId[\s\S]*returnId[\s\S]*userId[\s\S]*paymentId[\s\S]*amount[\s\S]*currency[\s\S]*lines/);
    expect(() => parseOrderCancelled(null)).toThrow(/^Invalid OrderCancelled: data must be an object/);
    expect(() => parseOrderCancelled({ orderId: 'o-1' })).toThrow(/reason/);
  });

  it('refused refunds are unrecoverable too, with a code', () => {
    const error = new RefundRefusedError('over_refund', 'too much');
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(error).toMatchObject({ name: 'RefundRefusedError', code: 'over_refund', message: 'Refund refused (over_refund): too much' });
  });
});
