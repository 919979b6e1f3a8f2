import { recordEvent, type EntityManager, type OutboxEvent } from '../../../kit/src';
import { ProductKind } from '../product/product-kind';
import type { CancelReason } from './order-state';
import type { OrderEntity, OrderLineEntity } from './order.entity';

/** What orders writes to its outbox, in the transaction of the change each event describes. */
export const ORDERS_EVENT_SOURCE = 'orders';
export const ORDER_PLACED = 'OrderPlaced';
export const PAYMENT_REQUESTED = 'PaymentRequested';
export const ORDER_CONFIRMED = 'OrderConfirmed';
export const ORDER_CANCELLED = 'OrderCancelled';
export const PLAN_CHANGED = 'PlanChanged';

export interface EventLine {
  productId: string;
  kind: string;
  quantity: number;
}

/** `OrderPlaced` (subject: order id) → inventory reserves the goods. */
export interface OrderPlacedData {
  orderId: string;
  userId: string;
  lines: EventLine[];
  total: { amount: number; currency: string };
}

/** `PaymentRequested` (subject: order id) → payments charges `amount`. */
export interface PaymentRequestedData {
  orderId: string;
  userId: string;
  amount: number;
  currency: string;
  paymentMethod: string;
  items: { productId: string; sku: string; kind: string; quantity: number; unitAmount: number }[];
}

/** `OrderConfirmed` (subject: order id) → inventory commits the reservation; analytics counts the sale. */
export interface OrderConfirmedData {
  orderId: string;
  userId: string;
  lines: EventLine[];
}

/** `OrderCancelled` (subject: order id) → inventory releases the reservation (`reservationId` when known). */
export interface OrderCancelledData {
  orderId: string;
  reason: CancelReason;
  lines: EventLine[];
  reservationId?: string;
}

/** `PlanChanged` (subject: user id) → users, signals: the user's plan is now `plan` (the sku without `PLAN-`). */
export interface PlanChangedData {
  userId: string;
  productId: string;
  sku?: string;
  plan: string;
}

const eventLines = (lines: OrderLineEntity[]): EventLine[] => lines.map((line) => ({ productId: line.productId, kind: line.kind, quantity: line.quantity }));

const record = (em: EntityManager, type: string, subject: string, data: object): OutboxEvent =>
  recordEvent(em, ORDERS_EVENT_SOURCE, type, subject, data as Record<string, unknown>);

export function recordOrderPlaced(em: EntityManager, order: OrderEntity, lines: OrderLineEntity[]): OutboxEvent {
  const data: OrderPlacedData = { orderId: order.id, userId: order.userId, lines: eventLines(lines), total: { amount: order.totalAmount, currency: order.currency } };
  return record(em, ORDER_PLACED, order.id, data);
}

export function recordPaymentRequested(em: EntityManager, order: OrderEntity, lines: OrderLineEntity[]): OutboxEvent {
  const data: PaymentRequestedData = {
    orderId: order.id,
    userId: order.userId,
    amount: order.totalAmount,
    currency: order.currency,
    paymentMethod: order.paymentMethod,
    items: lines.map((line) => ({ productId: line.productId, sku: line.sku, kind: line.kind, quantity: line.quantity, unitAmount: line.unitAmount })),
  };
  return record(em, PAYMENT_REQUESTED, order.id, data);
}

export function recordOrderConfirmed(em: EntityManager, order: OrderEntity, lines: OrderLineEntity[]): OutboxEvent {
  const data: OrderConfirmedData = { orderId: order.id, userId: order.userId, lines: eventLines(lines) };
  return record(em, ORDER_CONFIRMED, order.id, data);
}

export function recordOrderCancelled(em: EntityManager, order: OrderEntity, lines: OrderLineEntity[]): OutboxEvent {
  if (!order.cancelReason) throw new Error(`order ${order.id} is not cancelled`);
  const data: OrderCancelledData = { orderId: order.id, reason: order.cancelReason, lines: eventLines(lines) };
  if (order.reservationId) data.reservationId = order.reservationId;
  return record(em, ORDER_CANCELLED, order.id, data);
}

/** The plan a PLAN product grants: its sku without the `PLAN-` prefix (`PLAN-PRO` → `PRO`). */
export const planOf = (sku: string): string => (sku.startsWith('PLAN-') && sku.length > 5 ? sku.slice(5) : sku);

/** One `PlanChanged` per PLAN line of a paid order, in line order. */
export function recordPlanChanges(em: EntityManager, order: OrderEntity, lines: OrderLineEntity[]): OutboxEvent[] {
  return lines
    .filter((line) => line.kind === ProductKind.PLAN)
    .map((line) => {
      const data: PlanChangedData = { userId: order.userId, productId: line.productId, sku: line.sku, plan: planOf(line.sku) };
      return record(em, PLAN_CHANGED, order.userId, data);
    });
}
