import pino, { type Logger } from 'pino';
import { type EntityManager, isUuid } from '../../../kit/src';
import { isDigital } from '../product/product-kind';
import { handleProductChanged, PRODUCT_CHANGED } from '../product/product.events';
import { EventPayloadError, payloadReader, withinTransaction, type EventEnvelope, type EventHandler, type EventHandlers } from '../shared/events';
import { USER_DELETED, userDeletedHandler } from '../user/user.events';
import { CancelReason, CANCELLABLE, OrderStatus } from './order-state';
import { OrderHistoryEntity } from './order.entity';
import { observeCompensated, observeCompleted, type SagaMetrics } from './order.metrics';
import { ORDER_CANCELLED, ORDER_CONFIRMED, orderCancelledData, orderConfirmedData, PAYMENT_REQUESTED, paymentRequestedData, PLAN_CHANGED, planChangedData } from './order.outbox';
import { lockSagaOrder, OrderChange, type SagaOrder } from './order.saga-store';
import type { OrderUpdates } from './order.updates';

/** Replies the saga consumes (choreography: each service reacts to the others' events). */
export const STOCK_RESERVED = 'StockReserved';
export const STOCK_REJECTED = 'StockRejected';
export const RESERVATION_EXPIRED = 'ReservationExpired';
export const PAYMENT_SUCCEEDED = 'PaymentSucceeded';
export const PAYMENT_FAILED = 'PaymentFailed';
export const REFUND_ISSUED = 'RefundIssued';
export const REFUND_FAILED = 'RefundFailed';

/** `StockReserved` (inventory): every good of the order is held until `expiresAt`. */
export interface StockReservedData {
  orderId: string;
  reservationId: string;
  expiresAt?: string;
}
/** `StockRejected` (inventory): `productIds` lacked stock; nothing is held. */
export interface StockRejectedData {
  orderId: string;
  reason: string;
  productIds: string[];
}
/** `ReservationExpired` (inventory): the hold ran out before payment and was released. */
export interface ReservationExpiredData {
  orderId: string;
  reservationId: string;
}
/** `PaymentSucceeded` (payments). */
export interface PaymentSucceededData {
  orderId: string;
  paymentId: string;
  amount: number;
  currency: string;
}
/** `RefundIssued` (payments): money of the order's payment went back to the customer. */
export interface RefundIssuedData {
  orderId: string;
  paymentId: string;
  refundId: string;
  amount: number;
  currency: string;
}
/** `RefundFailed` (payments): a refund of the order's payment was refused, possibly after it was reported issued. */
export interface RefundFailedData extends RefundIssuedData {
  reason: string;
  previouslyIssued: boolean;
}
/** `PaymentFailed` (payments). */
export interface PaymentFailedData {
  orderId: string;
  paymentId: string;
  reason: string;
}

export interface OrdersEventDeps {
  metrics?: SagaMetrics;
  log?: Logger;
  /** Told of every status change once its transaction committed (`orderUpdated`). */
  updates?: OrderUpdates;
}

/** What every saga step's frame uses. */
interface SagaFrame {
  log: Logger;
  updates?: OrderUpdates;
}

type SagaStep = (change: OrderChange, tx: EntityManager) => Promise<void> | void;

/**
 * The shared frame of every saga step: read the order id, lock the order row (with its lines), run
 * the step, write what it changed (order-saga-store.ts: one read and at most one write statement).
 * An unknown order is logged and skipped (nothing to retry); a malformed payload throws, so the
 * job fails and stays in the failed set for inspection.
 */
function sagaHandler({ log, updates }: SagaFrame, step: (envelope: EventEnvelope) => SagaStep): EventHandler {
  return async (em, envelope, hooks) => {
    const orderId = payloadReader(envelope).string('orderId', 100).toLowerCase();
    if (!isUuid(orderId)) throw new EventPayloadError(envelope, 'data.orderId must be a UUID');
    const run = step(envelope);
    let moved = null as SagaOrder | null;
    await withinTransaction(em, async (tx) => {
      moved = null;
      const order = await lockSagaOrder(tx, orderId);
      if (!order) {
        log.warn({ eventId: envelope.id, type: envelope.type, orderId }, 'event for an unknown order ignored');
        return;
      }
      const before = order.status;
      const change = new OrderChange(order);
      await run(change, tx);
      await change.write(tx);
      if (order.status !== before) moved = order;
    });
    // Subscribers read the order when told: only once the change is committed.
    if (moved) updates?.publishAfterCommit(em, hooks, moved);
  };
}

/**
 * AWAITING_PAYMENT → PAID, and what payment sets off: OrderConfirmed (inventory commits the
 * reservation), a PlanChanged per PLAN line, and FULFILLED at once when nothing is to be shipped
 * (digital products are delivered by payment itself: plans through PlanChanged, indicators through
 * OrderConfirmed).
 */
function markPaid(change: OrderChange, paymentId: string | null, reason: string | null, metrics: SagaMetrics | undefined): void {
  const { order } = change;
  const at = new Date();
  order.paymentId = paymentId;
  change.transition(OrderStatus.PAID, { at, reason });
  change.event(ORDER_CONFIRMED, order.id, orderConfirmedData(order, order.lines));
  for (const data of planChangedData(order, order.lines)) change.event(PLAN_CHANGED, order.userId, data);
  if (order.lines.every((line) => isDigital(line.kind))) change.transition(OrderStatus.FULFILLED, { reason: 'DIGITAL_DELIVERY', at });
  observeCompleted(metrics, order.createdAt, at);
}

/**
 * The compensation every cancellation by an event shares (as `cancelLockedOrder` for the API):
 * CANCELLED with its reason, and `OrderCancelled` so inventory releases the reservation (no payment
 * was taken in any cancellable state).
 */
function cancelOrder(change: OrderChange, reason: CancelReason, metrics: SagaMetrics | undefined): void {
  const { order } = change;
  const at = new Date();
  change.transition(OrderStatus.CANCELLED, { reason, cancelReason: reason, at });
  change.event(ORDER_CANCELLED, order.id, orderCancelledData(order, order.lines));
  observeCompensated(metrics, reason, order.createdAt, at);
}

/**
 * The event handlers of the orders subgraph, by event type, for the kit's
 * `createEventConsumer({ orm, redis, subgraph: 'orders', log, handlers })`.
 *
 * Every saga step validates the transition first: an event that finds the order already past the
 * state it applies to (a redelivery, or a reply that lost a race) changes nothing and emits nothing.
 */
export function createOrdersEventHandlers(deps: OrdersEventDeps = {}): EventHandlers {
  const log = deps.log ?? pino({ level: 'silent' });
  const saga: SagaFrame = { log, updates: deps.updates };
  const { metrics } = deps;
  const ignored = (envelope: EventEnvelope, order: SagaOrder) =>
    log.info({ eventId: envelope.id, type: envelope.type, orderId: order.id, status: order.status }, 'event does not apply to the order in its current state; ignored');

  return {
    [PRODUCT_CHANGED]: handleProductChanged,
    [USER_DELETED]: userDeletedHandler({ log, metrics, updates: deps.updates }),

    [STOCK_RESERVED]: sagaHandler(saga, (envelope) => {
      const read = payloadReader(envelope);
      const data: StockReservedData = { orderId: read.string('orderId'), reservationId: read.string('reservationId', 100) };
      return (change) => {
        const { order } = change;
        if (order.status === OrderStatus.PENDING) {
          order.reservationId = data.reservationId;
          change.transition(OrderStatus.AWAITING_PAYMENT);
          // Nothing to charge (a free plan): payments refuses zero amounts, so the order is paid here.
          if (order.totalAmount === 0) markPaid(change, null, 'NO_PAYMENT_DUE', metrics);
          else change.event(PAYMENT_REQUESTED, order.id, paymentRequestedData(order, order.lines));
          return;
        }
        if (order.status === OrderStatus.CANCELLED && order.reservationId === null) {
          // Cancelled (by the customer) before inventory answered: its OrderCancelled may have reached
          // inventory before the OrderPlaced it cancels, so ask once more to release this reservation.
          order.reservationId = data.reservationId;
          order.updatedAt = new Date();
          change.note(`STOCK_RESERVED_AFTER_CANCELLATION: reservation ${data.reservationId} released`);
          change.event(ORDER_CANCELLED, order.id, orderCancelledData(order, order.lines));
          return;
        }
        ignored(envelope, order);
      };
    }),

    [STOCK_REJECTED]: sagaHandler(saga, (envelope) => {
      const productIds = (envelope.data as { productIds?: unknown }).productIds;
      return (change) => {
        const { order } = change;
        if (order.status !== OrderStatus.PENDING) return ignored(envelope, order);
        log.info({ orderId: order.id, productIds }, 'stock rejected; order cancelled');
        cancelOrder(change, CancelReason.OUT_OF_STOCK, metrics);
      };
    }),

    [RESERVATION_EXPIRED]: sagaHandler(saga, (envelope) => {
      const reservationId = payloadReader(envelope).string('reservationId', 100);
      return (change) => {
        const { order } = change;
        const sameReservation = order.reservationId === null || order.reservationId === reservationId;
        if (!CANCELLABLE.includes(order.status) || !sameReservation) return ignored(envelope, order);
        cancelOrder(change, CancelReason.EXPIRED, metrics);
      };
    }),

    [PAYMENT_SUCCEEDED]: sagaHandler(saga, (envelope) => {
      const read = payloadReader(envelope);
      const data: PaymentSucceededData = {
        orderId: read.string('orderId'),
        paymentId: read.string('paymentId', 100),
        amount: read.int('amount'),
        currency: read.currency('currency'),
      };
      return (change) => {
        const { order } = change;
        if (order.status === OrderStatus.AWAITING_PAYMENT) {
          if (data.amount !== order.totalAmount || data.currency !== order.currency) {
            throw new EventPayloadError(
              envelope,
              `payment of ${data.amount} ${data.currency} does not match order ${order.id} total ${order.totalAmount} ${order.currency}`,
            );
          }
          markPaid(change, data.paymentId, null, metrics);
          return;
        }
        if (order.status === OrderStatus.CANCELLED && order.paymentId === null) {
          // A late payment never resurrects a cancelled order: the order stays CANCELLED and the
          // payment is recorded so it can be refunded (payments' follow-up, on OrderCancelled).
          order.paymentId = data.paymentId;
          order.updatedAt = new Date();
          change.note(`LATE_PAYMENT: payment ${data.paymentId} of ${data.amount} ${data.currency} succeeded after cancellation; refund due`);
          metrics?.latePayments.inc();
          log.warn({ orderId: order.id, paymentId: data.paymentId }, 'payment succeeded for a cancelled order; refund due');
          return;
        }
        ignored(envelope, order);
      };
    }),

    [PAYMENT_FAILED]: sagaHandler(saga, (envelope) => {
      const read = payloadReader(envelope);
      const paymentId = read.string('paymentId', 100);
      const reason = read.optionalString('reason') ?? 'unknown';
      return (change) => {
        const { order } = change;
        if (order.status !== OrderStatus.AWAITING_PAYMENT) return ignored(envelope, order);
        log.info({ orderId: order.id, paymentId, reason }, 'payment failed; order cancelled');
        cancelOrder(change, CancelReason.PAYMENT_FAILED, metrics);
      };
    }),

    [REFUND_ISSUED]: sagaHandler(saga, (envelope) => {
      const data = readRefund(payloadReader(envelope));
      const note = `REFUND_ISSUED: refund ${data.refundId} of ${data.amount} ${data.currency} for payment ${data.paymentId}`;
      return async (change, tx) => {
        const { order } = change;
        // A note in the history, once per refund; the status does not change.
        if (await tx.count(OrderHistoryEntity, { orderId: order.id, reason: note })) return ignored(envelope, order);
        order.updatedAt = new Date();
        change.note(note);
      };
    }),

    [REFUND_FAILED]: sagaHandler(saga, (envelope) => {
      const read = payloadReader(envelope);
      const data: RefundFailedData = { ...readRefund(read), reason: read.string('reason', 100), previouslyIssued: read.boolean('previouslyIssued') };
      const note = `REFUND_FAILED: refund ${data.refundId} of ${data.amount} ${data.currency} for payment ${data.paymentId}${data.previouslyIssued ? ', reported issued before,' : ''} failed (${data.reason})`;
      return async (change, tx) => {
        const { order } = change;
        // Like RefundIssued: a note once per refund, so support sees the customer was not paid back.
        if (await tx.count(OrderHistoryEntity, { orderId: order.id, reason: note })) return ignored(envelope, order);
        log.warn({ orderId: order.id, refundId: data.refundId, reason: data.reason }, 'refund failed');
        order.updatedAt = new Date();
        change.note(note);
      };
    }),
  };
}

/** The fields RefundIssued and RefundFailed share. */
function readRefund(read: ReturnType<typeof payloadReader>): RefundIssuedData {
  return {
    orderId: read.string('orderId'),
    paymentId: read.string('paymentId', 100),
    refundId: read.string('refundId', 100),
    amount: read.int('amount'),
    currency: read.currency('currency'),
  };
}

/** The event types this subgraph consumes. */
export const CONSUMED_EVENT_TYPES = [PRODUCT_CHANGED, USER_DELETED, STOCK_RESERVED, STOCK_REJECTED, RESERVATION_EXPIRED, PAYMENT_SUCCEEDED, PAYMENT_FAILED, REFUND_ISSUED, REFUND_FAILED] as const;
