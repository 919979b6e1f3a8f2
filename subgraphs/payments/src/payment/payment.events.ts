import { createHash } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { recordEvent, type EntityManager } from '../../../kit/src';
import type { EventHandlers } from '../../../kit/src/events';
import type { PaymentItem } from './payment.entity';
import type { PaymentService } from './payment.service';

export const PAYMENTS_EVENT_SOURCE = 'payments';

export const PAYMENT_REQUESTED = 'PaymentRequested';
export const PAYMENT_SUCCEEDED = 'PaymentSucceeded';
export const PAYMENT_FAILED = 'PaymentFailed';
export const REFUND_ISSUED = 'RefundIssued';
export const REFUND_FAILED = 'RefundFailed';
export const RETURN_APPROVED = 'ReturnApproved';
export const ORDER_CANCELLED = 'OrderCancelled';

/** `data` of `PaymentRequested` (from orders; subject: the order id). */
export interface PaymentRequestedData {
  orderId: string;
  userId: string;
  /** Minor units. */
  amount: number;
  currency: string;
  paymentMethod: string | null;
  items?: PaymentItem[];
}

/** One line of a ReturnApproved or OrderCancelled (kept for the log; payments prices nothing). */
export interface OrderEventLine {
  productId: string;
  kind: string;
  quantity: number;
}

/** `data` of `ReturnApproved` (from orders; subject: the order id): refund `amount` of the order's payment. */
export interface ReturnApprovedData {
  orderId: string;
  returnId: string;
  userId: string;
  /** The order's payment as orders knows it; null when orders recorded none. */
  paymentId: string | null;
  lines: OrderEventLine[];
  /** Minor units to give back; 0 when the returned lines cost nothing. */
  amount: number;
  currency: string;
}

/** `data` of `OrderCancelled` (from orders; subject: the order id). */
export interface OrderCancelledData {
  orderId: string;
  /** Orders' CancelReason: `OUT_OF_STOCK`, `PAYMENT_FAILED`, `EXPIRED` or `CUSTOMER`. */
  reason: string;
  lines: OrderEventLine[];
  reservationId?: string;
}

/** `data` of `PaymentSucceeded` (subject: the order id). */
export interface PaymentSucceededData {
  orderId: string;
  paymentId: string;
  amount: number;
  currency: string;
}

/** `data` of `PaymentFailed` (subject: the order id). `reason`: `card_declined`, `provider_error`, or Stripe's error code. */
export interface PaymentFailedData {
  orderId: string;
  paymentId: string;
  reason: string;
}

/** `data` of `RefundIssued` (subject: the order id): emitted once a refund has succeeded. */
export interface RefundIssuedData {
  orderId: string;
  /** The buyer (users mails them that the refund was issued). */
  userId: string;
  paymentId: string;
  refundId: string;
  amount: number;
  currency: string;
}

/** `data` of `RefundFailed` (subject: the order id): a refund was refused, possibly after being reported issued. */
export interface RefundFailedData extends RefundIssuedData {
  reason: string;
  /** True when a RefundIssued for this refund was emitted before (Stripe reversed it). */
  previouslyIssued: boolean;
}

export type { EventEnvelope, EventHandler, EventHandlers } from '../../../kit/src/events';

/** A PaymentRequested that can never be processed: retrying it would fail the same way, so the queue must not. */
export class InvalidPaymentRequestError extends UnrecoverableError {
  constructor(message: string) {
    super(`Invalid PaymentRequested: ${message}`);
    this.name = 'InvalidPaymentRequestError';
  }
}

/** An event from orders that can never be processed (malformed data): retrying would fail the same way. */
export class InvalidEventError extends UnrecoverableError {
  constructor(type: string, message: string) {
    super(`Invalid ${type}: ${message}`);
    this.name = 'InvalidEventError';
  }
}

/**
 * A refund the order saga asked for that payments refuses for good: more than is left, a payment
 * that was never paid or is not this order's, or the provider said no. Thrown from the event
 * handler, so nothing is written and the job lands in the failed set (no retries) for inspection.
 */
export class RefundRefusedError extends UnrecoverableError {
  constructor(
    readonly code: 'over_refund' | 'not_paid' | 'no_payment' | 'payment_mismatch' | 'provider_mismatch' | 'provider_rejected',
    message: string,
  ) {
    super(`Refund refused (${code}): ${message}`);
    this.name = 'RefundRefusedError';
  }
}

const ORDER_ID = /^[\x21-\x7e]{1,100}$/;
const CURRENCY = /^[A-Za-z]{3}$/;
const MAX_AMOUNT = 2_147_483_647;

/** Checks an incoming PaymentRequested; currency comes back upper case. */
export function parsePaymentRequested(data: unknown): PaymentRequestedData {
  if (typeof data !== 'object' || data === null) throw new InvalidPaymentRequestError('data must be an object');
  const raw = data as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof raw.orderId !== 'string' || !ORDER_ID.test(raw.orderId)) problems.push('orderId must be 1 to 100 visible ASCII characters');
  if (typeof raw.userId !== 'string' || raw.userId.length === 0 || raw.userId.length > 100) problems.push('userId must be 1 to 100 characters');
  if (typeof raw.amount !== 'number' || !Number.isInteger(raw.amount) || raw.amount < 1 || raw.amount > MAX_AMOUNT) problems.push('amount must be a positive integer (minor units)');
  if (typeof raw.currency !== 'string' || !CURRENCY.test(raw.currency)) problems.push('currency must be an ISO 4217 code');
  if (raw.paymentMethod !== undefined && raw.paymentMethod !== null && (typeof raw.paymentMethod !== 'string' || raw.paymentMethod.length > 100)) {
    problems.push('paymentMethod must be a string of at most 100 characters');
  }
  let items: PaymentItem[] | undefined;
  if (raw.items !== undefined && raw.items !== null) {
    if (!Array.isArray(raw.items)) problems.push('items must be a list');
    else {
      items = raw.items.map((item: unknown) => {
        const line = (item ?? {}) as Record<string, unknown>;
        return { productId: String(line.productId ?? ''), kind: String(line.kind ?? ''), quantity: Number(line.quantity ?? 0) };
      });
    }
  }
  if (problems.length > 0) throw new InvalidPaymentRequestError(problems.join('; '));
  return {
    orderId: raw.orderId as string,
    userId: raw.userId as string,
    amount: raw.amount as number,
    currency: (raw.currency as string).toUpperCase(),
    paymentMethod: (raw.paymentMethod as string | null | undefined) ?? null,
    ...(items ? { items } : {}),
  };
}

const PAYMENT_ID_NAMESPACE = Buffer.from('6f1d8a52c3b94e0f9a7d2b4c5e6f7a81', 'hex');
const REFUND_ID_NAMESPACE = Buffer.from('a3c47e1f5b2d4f8e9c0b7d6e5f4a3b21', 'hex');

/** A name-based UUID (version 5). */
function nameUuid(namespace: Buffer, name: string): string {
  const hash = createHash('sha1').update(namespace).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The payment id of an order: a name-based UUID (version 5) of the order id. A request retried
 * after a crash or a provider timeout names the same payment to the provider, so the provider's
 * idempotency check sees identical parameters.
 */
export const paymentIdFor = (orderId: string): string => nameUuid(PAYMENT_ID_NAMESPACE, orderId);

/**
 * The refund ids of the refunds the saga asks for, derived like payment ids: a retried event sends
 * the provider the same `refundId` metadata under the same idempotency key, and the refund row's
 * primary key makes a second one impossible.
 */
export const returnRefundIdFor = (returnId: string): string => nameUuid(REFUND_ID_NAMESPACE, `return:${returnId}`);
export const cancellationRefundIdFor = (orderId: string): string => nameUuid(REFUND_ID_NAMESPACE, `cancelled:${orderId}`);

/** The provider idempotency key of a payment: the same order, amount and currency never charge twice. */
export const paymentIdempotencyKey = (request: Pick<PaymentRequestedData, 'orderId' | 'amount' | 'currency'>): string =>
  `mercado-payment:${request.orderId}:${request.amount}:${request.currency.toUpperCase()}`;

/** The provider idempotency key of a refund (one key per refund row). */
export const refundIdempotencyKey = (refundId: string): string => `mercado-refund:${refundId}`;

/** The provider idempotency key of the refund of an approved return: one per return, however often the event comes. */
export const returnRefundIdempotencyKey = (returnId: string): string => `mercado-refund:return:${returnId}`;

/** The provider idempotency key of the refund of a cancelled order's payment (a late payment): one per order. */
export const cancellationRefundIdempotencyKey = (orderId: string): string => `mercado-refund:${orderId}:cancelled`;

/** The provider idempotency key of cancelling a payment because its order was cancelled. */
export const paymentCancelIdempotencyKey = (paymentId: string): string => `mercado-payment-cancel:${paymentId}`;

function readLines(raw: unknown, problems: string[]): OrderEventLine[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.push('lines must be a list');
    return [];
  }
  return raw.map((item: unknown) => {
    const line = (item ?? {}) as Record<string, unknown>;
    return { productId: String(line.productId ?? ''), kind: String(line.kind ?? ''), quantity: Number(line.quantity ?? 0) };
  });
}

function eventObject(type: string, data: unknown): Record<string, unknown> {
  if (typeof data !== 'object' || data === null) throw new InvalidEventError(type, 'data must be an object');
  return data as Record<string, unknown>;
}

/** Checks an incoming ReturnApproved; currency comes back upper case. */
export function parseReturnApproved(data: unknown): ReturnApprovedData {
  const raw = eventObject(RETURN_APPROVED, data);
  const problems: string[] = [];
  if (typeof raw.orderId !== 'string' || !ORDER_ID.test(raw.orderId)) problems.push('orderId must be 1 to 100 visible ASCII characters');
  if (typeof raw.returnId !== 'string' || !ORDER_ID.test(raw.returnId)) problems.push('returnId must be 1 to 100 visible ASCII characters');
  if (typeof raw.userId !== 'string' || raw.userId.length === 0 || raw.userId.length > 100) problems.push('userId must be 1 to 100 characters');
  if (raw.paymentId !== undefined && raw.paymentId !== null && (typeof raw.paymentId !== 'string' || raw.paymentId.length === 0 || raw.paymentId.length > 100)) {
    problems.push('paymentId must be null or 1 to 100 characters');
  }
  if (typeof raw.amount !== 'number' || !Number.isInteger(raw.amount) || raw.amount < 0 || raw.amount > MAX_AMOUNT) problems.push('amount must be a non-negative integer (minor units)');
  if (typeof raw.currency !== 'string' || !CURRENCY.test(raw.currency)) problems.push('currency must be an ISO 4217 code');
  const lines = readLines(raw.lines, problems);
  if (problems.length > 0) throw new InvalidEventError(RETURN_APPROVED, problems.join('; '));
  return {
    orderId: raw.orderId as string,
    returnId: raw.returnId as string,
    userId: raw.userId as string,
    paymentId: (raw.paymentId as string | null | undefined) ?? null,
    lines,
    amount: raw.amount as number,
    currency: (raw.currency as string).toUpperCase(),
  };
}

/** Checks an incoming OrderCancelled. */
export function parseOrderCancelled(data: unknown): OrderCancelledData {
  const raw = eventObject(ORDER_CANCELLED, data);
  const problems: string[] = [];
  if (typeof raw.orderId !== 'string' || !ORDER_ID.test(raw.orderId)) problems.push('orderId must be 1 to 100 visible ASCII characters');
  if (typeof raw.reason !== 'string' || raw.reason.length === 0 || raw.reason.length > 50) problems.push('reason must be 1 to 50 characters');
  if (raw.reservationId !== undefined && raw.reservationId !== null && typeof raw.reservationId !== 'string') problems.push('reservationId must be a string');
  const lines = readLines(raw.lines, problems);
  if (problems.length > 0) throw new InvalidEventError(ORDER_CANCELLED, problems.join('; '));
  return {
    orderId: raw.orderId as string,
    reason: raw.reason as string,
    lines,
    ...(typeof raw.reservationId === 'string' ? { reservationId: raw.reservationId } : {}),
  };
}

export const recordPaymentSucceeded = (em: EntityManager, data: PaymentSucceededData) =>
  recordEvent(em, PAYMENTS_EVENT_SOURCE, PAYMENT_SUCCEEDED, data.orderId, { ...data });

export const recordPaymentFailed = (em: EntityManager, data: PaymentFailedData) =>
  recordEvent(em, PAYMENTS_EVENT_SOURCE, PAYMENT_FAILED, data.orderId, { ...data });

export const recordRefundIssued = (em: EntityManager, data: RefundIssuedData) => recordEvent(em, PAYMENTS_EVENT_SOURCE, REFUND_ISSUED, data.orderId, { ...data });

export const recordRefundFailed = (em: EntityManager, data: RefundFailedData) => recordEvent(em, PAYMENTS_EVENT_SOURCE, REFUND_FAILED, data.orderId, { ...data });

/**
 * The events payments consumes, by type, for the kit's event consumer (the server registers them):
 * PaymentRequested (charge), ReturnApproved (refund the return), OrderCancelled (stop or refund the
 * order's payment).
 */
export function createPaymentEventHandlers(service: PaymentService): EventHandlers {
  return {
    [PAYMENT_REQUESTED]: async (em, envelope, hooks) => {
      await service.requestPayment(em, envelope.data, { eventId: envelope.id }, hooks);
    },
    [RETURN_APPROVED]: async (em, envelope, hooks) => {
      await service.refundReturn(em, envelope.data, { eventId: envelope.id }, hooks);
    },
    [ORDER_CANCELLED]: async (em, envelope, hooks) => {
      await service.cancelOrderPayment(em, envelope.data, { eventId: envelope.id }, hooks);
    },
  };
}
