/** Where a payment stands. Webhooks may arrive late or out of order, so states only move forward (see `paymentRank`). */
export enum PaymentStatus {
  PENDING = 'PENDING',
  REQUIRES_ACTION = 'REQUIRES_ACTION',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  /** The order was cancelled before the payment completed: the PaymentIntent was cancelled (or never created). */
  CANCELLED = 'CANCELLED',
  REFUNDED = 'REFUNDED',
  PARTIALLY_REFUNDED = 'PARTIALLY_REFUNDED',
}

export enum RefundStatus {
  PENDING = 'PENDING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
}

export const PAYMENT_STATUSES = Object.values(PaymentStatus);
export const REFUND_STATUSES = Object.values(RefundStatus);

/**
 * Order of payment states. A late `payment_intent.succeeded` after a `payment_failed` is applied
 * (Stripe lets the customer retry, and the money has moved), a `payment_failed` after `succeeded`
 * is not. CANCELLED (the order was cancelled first) ranks above FAILED, so a late decline reports
 * nothing, and below SUCCEEDED, so money taken anyway is recorded (and refunded). Refund states are
 * derived from refund rows and rank above SUCCEEDED.
 */
const PAYMENT_RANK: Record<PaymentStatus, number> = {
  [PaymentStatus.PENDING]: 0,
  [PaymentStatus.REQUIRES_ACTION]: 1,
  [PaymentStatus.FAILED]: 2,
  [PaymentStatus.CANCELLED]: 3,
  [PaymentStatus.SUCCEEDED]: 4,
  [PaymentStatus.PARTIALLY_REFUNDED]: 5,
  [PaymentStatus.REFUNDED]: 6,
};

/** True when moving from `from` to `to` is progress; equal or lower states are stale news. */
export const paymentAdvances = (from: PaymentStatus, to: PaymentStatus): boolean => PAYMENT_RANK[to] > PAYMENT_RANK[from];

/** True once money was taken: the states a refund may start from, and the ones a failure must never overwrite. */
export const isPaid = (status: PaymentStatus): boolean => PAYMENT_RANK[status] >= PAYMENT_RANK[PaymentStatus.SUCCEEDED];

/** States `refundPayment` accepts. */
export const REFUNDABLE_STATUSES: readonly PaymentStatus[] = [PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED];

/** States in which the customer could still pay: an order cancelled now cancels the payment. */
export const CANCELLABLE_STATUSES: readonly PaymentStatus[] = [PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION];

/**
 * Order of refund states. Stripe may report a refund `succeeded` and later `failed`
 * (e.g. `expired_or_canceled_card`), but never the reverse: FAILED is the only final state.
 */
const REFUND_RANK: Record<RefundStatus, number> = {
  [RefundStatus.PENDING]: 0,
  [RefundStatus.SUCCEEDED]: 1,
  [RefundStatus.FAILED]: 2,
};

export const refundAdvances = (from: RefundStatus, to: RefundStatus): boolean => REFUND_RANK[to] > REFUND_RANK[from];

/** Stripe's refund statuses mapped to ours; `requires_action` and `pending` wait. */
export function refundStatusFromStripe(status: string | null | undefined): RefundStatus {
  switch (status) {
    case 'succeeded':
      return RefundStatus.SUCCEEDED;
    case 'failed':
    case 'canceled':
      return RefundStatus.FAILED;
    default:
      return RefundStatus.PENDING;
  }
}

/** The payment state implied by what has been refunded for good; only meaningful once paid. */
export function statusAfterRefunds(amount: number, refunded: number): PaymentStatus {
  if (refunded <= 0) return PaymentStatus.SUCCEEDED;
  return refunded >= amount ? PaymentStatus.REFUNDED : PaymentStatus.PARTIALLY_REFUNDED;
}
