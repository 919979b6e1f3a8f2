import pino, { type Logger } from 'pino';
import type { EntityManager } from '../../../kit/src';
import { isDigital } from '../product/product-kind';
import { handleProductChanged, PRODUCT_CHANGED } from '../product/product.events';
import { EventPayloadError, payloadReader, withinTransaction, type EventEnvelope, type EventHandler, type EventHandlers } from '../shared/events';
import { isUuid } from '../shared/ids';
import { CancelReason, CANCELLABLE, OrderStatus } from './order-state';
import { OrderHistoryEntity, type OrderEntity } from './order.entity';
import { observeCompleted, type SagaMetrics } from './order.metrics';
import { recordOrderCancelled, recordOrderConfirmed, recordPaymentRequested, recordPlanChanges } from './order.outbox';
import { appendHistory, applyTransition, cancelLockedOrder, lockOrder, orderLines } from './order.transitions';

/** Replies the saga consumes (choreography: each service reacts to the others' events). */
export const STOCK_RESERVED = 'StockReserved';
export const STOCK_REJECTED = 'StockRejected';
export const RESERVATION_EXPIRED = 'ReservationExpired';
export const PAYMENT_SUCCEEDED = 'PaymentSucceeded';
export const PAYMENT_FAILED = 'PaymentFailed';
export const REFUND_ISSUED = 'RefundIssued';

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
/** `PaymentFailed` (payments). */
export interface PaymentFailedData {
  orderId: string;
  paymentId: string;
  reason: string;
}

export interface OrdersEventDeps {
  metrics?: SagaMetrics;
  log?: Logger;
}

type SagaStep = (tx: EntityManager, order: OrderEntity) => Promise<void>;

/**
 * The shared frame of every saga step: read the order id, lock the order row, run the step.
 * An unknown order is logged and skipped (nothing to retry); a malformed payload throws, so the
 * job fails and stays in the failed set for inspection.
 */
function sagaHandler(log: Logger, step: (envelope: EventEnvelope) => SagaStep): EventHandler {
  return async (em, envelope) => {
    const orderId = payloadReader(envelope).string('orderId', 100).toLowerCase();
    if (!isUuid(orderId)) throw new EventPayloadError(envelope, 'data.orderId must be a UUID');
    const run = step(envelope);
    await withinTransaction(em, async (tx) => {
      const order = await lockOrder(tx, orderId);
      if (!order) {
        log.warn({ eventId: envelope.id, type: envelope.type, orderId }, 'event for an unknown order ignored');
        return;
      }
      await run(tx, order);
    });
  };
}

/**
 * AWAITING_PAYMENT → PAID, and what payment sets off: OrderConfirmed (inventory commits the
 * reservation), a PlanChanged per PLAN line, and FULFILLED at once when nothing is to be shipped
 * (digital products are delivered by payment itself: plans through PlanChanged, indicators through
 * OrderConfirmed).
 */
async function markPaid(tx: EntityManager, order: OrderEntity, paymentId: string | null, reason: string | null, metrics: SagaMetrics | undefined): Promise<void> {
  const at = new Date();
  order.paymentId = paymentId;
  applyTransition(tx, order, OrderStatus.PAID, { at, reason });
  const lines = await orderLines(tx, order.id);
  recordOrderConfirmed(tx, order, lines);
  recordPlanChanges(tx, order, lines);
  if (lines.every((line) => isDigital(line.kind))) applyTransition(tx, order, OrderStatus.FULFILLED, { reason: 'DIGITAL_DELIVERY', at });
  observeCompleted(metrics, order.createdAt, at);
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
  const { metrics } = deps;
  const ignored = (envelope: EventEnvelope, order: OrderEntity) =>
    log.info({ eventId: envelope.id, type: envelope.type, orderId: order.id, status: order.status }, 'event does not apply to the order in its current state; ignored');

  return {
    [PRODUCT_CHANGED]: handleProductChanged,

    [STOCK_RESERVED]: sagaHandler(log, (envelope) => {
      const read = payloadReader(envelope);
      const data: StockReservedData = { orderId: read.string('orderId'), reservationId: read.string('reservationId', 100) };
      return async (tx, order) => {
        if (order.status === OrderStatus.PENDING) {
          order.reservationId = data.reservationId;
          applyTransition(tx, order, OrderStatus.AWAITING_PAYMENT);
          // Nothing to charge (a free plan): payments refuses zero amounts, so the order is paid here.
          if (order.totalAmount === 0) await markPaid(tx, order, null, 'NO_PAYMENT_DUE', metrics);
          else recordPaymentRequested(tx, order, await orderLines(tx, order.id));
          return;
        }
        if (order.status === OrderStatus.CANCELLED && order.reservationId === null) {
          // Cancelled (by the customer) before inventory answered: its OrderCancelled may have reached
          // inventory before the OrderPlaced it cancels, so ask once more to release this reservation.
          order.reservationId = data.reservationId;
          order.updatedAt = new Date();
          appendHistory(tx, order, `STOCK_RESERVED_AFTER_CANCELLATION: reservation ${data.reservationId} released`);
          recordOrderCancelled(tx, order, await orderLines(tx, order.id));
          return;
        }
        ignored(envelope, order);
      };
    }),

    [STOCK_REJECTED]: sagaHandler(log, (envelope) => {
      const productIds = (envelope.data as { productIds?: unknown }).productIds;
      return async (tx, order) => {
        if (order.status !== OrderStatus.PENDING) return ignored(envelope, order);
        log.info({ orderId: order.id, productIds }, 'stock rejected; order cancelled');
        await cancelLockedOrder(tx, order, CancelReason.OUT_OF_STOCK, metrics);
      };
    }),

    [RESERVATION_EXPIRED]: sagaHandler(log, (envelope) => {
      const reservationId = payloadReader(envelope).string('reservationId', 100);
      return async (tx, order) => {
        const sameReservation = order.reservationId === null || order.reservationId === reservationId;
        if (!CANCELLABLE.includes(order.status) || !sameReservation) return ignored(envelope, order);
        await cancelLockedOrder(tx, order, CancelReason.EXPIRED, metrics);
      };
    }),

    [PAYMENT_SUCCEEDED]: sagaHandler(log, (envelope) => {
      const read = payloadReader(envelope);
      const data: PaymentSucceededData = {
        orderId: read.string('orderId'),
        paymentId: read.string('paymentId', 100),
        amount: read.int('amount'),
        currency: read.currency('currency'),
      };
      return async (tx, order) => {
        if (order.status === OrderStatus.AWAITING_PAYMENT) {
          if (data.amount !== order.totalAmount || data.currency !== order.currency) {
            throw new EventPayloadError(
              envelope,
              `payment of ${data.amount} ${data.currency} does not match order ${order.id} total ${order.totalAmount} ${order.currency}`,
            );
          }
          await markPaid(tx, order, data.paymentId, null, metrics);
          return;
        }
        if (order.status === OrderStatus.CANCELLED && order.paymentId === null) {
          // A late payment never resurrects a cancelled order: the order stays CANCELLED and the
          // payment is recorded so it can be refunded (payments' follow-up, on OrderCancelled).
          order.paymentId = data.paymentId;
          order.updatedAt = new Date();
          appendHistory(tx, order, `LATE_PAYMENT: payment ${data.paymentId} of ${data.amount} ${data.currency} succeeded after cancellation; refund due`);
          metrics?.latePayments.inc();
          log.warn({ orderId: order.id, paymentId: data.paymentId }, 'payment succeeded for a cancelled order; refund due');
          return;
        }
        ignored(envelope, order);
      };
    }),

    [PAYMENT_FAILED]: sagaHandler(log, (envelope) => {
      const read = payloadReader(envelope);
      const paymentId = read.string('paymentId', 100);
      const reason = read.optionalString('reason') ?? 'unknown';
      return async (tx, order) => {
        if (order.status !== OrderStatus.AWAITING_PAYMENT) return ignored(envelope, order);
        log.info({ orderId: order.id, paymentId, reason }, 'payment failed; order cancelled');
        await cancelLockedOrder(tx, order, CancelReason.PAYMENT_FAILED, metrics);
      };
    }),

    [REFUND_ISSUED]: sagaHandler(log, (envelope) => {
      const read = payloadReader(envelope);
      const data: RefundIssuedData = {
        orderId: read.string('orderId'),
        paymentId: read.string('paymentId', 100),
        refundId: read.string('refundId', 100),
        amount: read.int('amount'),
        currency: read.currency('currency'),
      };
      const note = `REFUND_ISSUED: refund ${data.refundId} of ${data.amount} ${data.currency} for payment ${data.paymentId}`;
      return async (tx, order) => {
        // A note in the history, once per refund; the status does not change.
        if (await tx.count(OrderHistoryEntity, { orderId: order.id, reason: note })) return ignored(envelope, order);
        order.updatedAt = new Date();
        appendHistory(tx, order, note);
      };
    }),
  };
}

/** The event types this subgraph consumes. */
export const CONSUMED_EVENT_TYPES = [PRODUCT_CHANGED, STOCK_RESERVED, STOCK_REJECTED, RESERVATION_EXPIRED, PAYMENT_SUCCEEDED, PAYMENT_FAILED, REFUND_ISSUED] as const;
