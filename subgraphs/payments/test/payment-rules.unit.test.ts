import { UnrecoverableError } from 'bullmq';
import { parsePaymentRequested, paymentIdempotencyKey, paymentIdFor, refundIdempotencyKey } from '../src/payment/payment.events';
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
    expect([PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION, PaymentStatus.FAILED].some(isPaid)).toBe(false);
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
