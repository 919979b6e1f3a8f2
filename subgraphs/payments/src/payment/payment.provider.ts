import type { RefundStatus } from './payment-status';

export interface CreatePaymentInput {
  paymentId: string;
  orderId: string;
  /** Minor units. */
  amount: number;
  /** ISO 4217, upper case. */
  currency: string;
  paymentMethod: string | null;
  /** Same request, same key: a retried request never charges twice. */
  idempotencyKey: string;
}

export type PaymentAttempt =
  /** Settled at once (development provider). */
  | { outcome: 'succeeded'; providerPaymentId: string }
  /** The customer must confirm with the client secret; the outcome arrives by webhook (Stripe). */
  | { outcome: 'requires_action'; providerPaymentId: string; clientSecret: string | null }
  /** Refused for good: a decline or a request the provider will never accept. */
  | { outcome: 'failed'; reason: string; message: string; providerPaymentId: string | null };

export interface CreateRefundInput {
  refundId: string;
  paymentId: string;
  orderId: string;
  providerPaymentId: string;
  amount: number;
  currency: string;
  idempotencyKey: string;
}

export interface RefundAttempt {
  providerRefundId: string;
  /** PENDING unless the provider settles refunds at once; Stripe's are final only by webhook. */
  status: RefundStatus;
  failureReason: string | null;
}

export interface CancelPaymentInput {
  paymentId: string;
  providerPaymentId: string;
  /** Stripe's `cancellation_reason`. */
  reason: 'abandoned' | 'requested_by_customer';
  idempotencyKey: string;
}

export type CancelAttempt =
  /** Cancelled now or before: the customer can no longer pay. */
  | { outcome: 'canceled' }
  /** Too late: the payment succeeded or is being processed; the provider reports the outcome later. */
  | { outcome: 'not_cancelable'; providerStatus: string | null };

/** A refund as the provider reports it (Stripe's Refund object, reduced). */
export interface ProviderRefund {
  id: string;
  status: string | null;
  amount: number | null;
  currency: string | null;
  reason: string | null;
  failureReason: string | null;
  metadata: Record<string, unknown>;
}

/** A failure worth retrying later (network, timeout, 5xx, rate limit, bad credentials): nothing was decided. */
export class ProviderUnavailableError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'ProviderUnavailableError';
  }
}

/** The provider refused the request for good (invalid request, idempotency mismatch, declined refund). */
export class ProviderRejectedError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'ProviderRejectedError';
  }
}

/** Where money actually moves: the development provider or Stripe. */
export interface PaymentProvider {
  readonly name: 'dev' | 'stripe';
  createPayment(input: CreatePaymentInput): Promise<PaymentAttempt>;
  createRefund(input: CreateRefundInput): Promise<RefundAttempt>;
  /** Stops a payment the customer has not completed (the order was cancelled). */
  cancelPayment(input: CancelPaymentInput): Promise<CancelAttempt>;
  /** Refunds of one payment, for webhooks that carry no refund list (`charge.refunded` on recent API versions). */
  listRefunds(providerPaymentId: string): Promise<ProviderRefund[]>;
}
