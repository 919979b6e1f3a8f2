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
export const ORDER_SHIPPED = 'OrderShipped';
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

/**
 * `OrderConfirmed` (subject: order id) → inventory commits the reservation; analytics counts the
 * sale; users mails the buyer a receipt.
 */
export interface OrderConfirmedData {
  orderId: string;
  userId: string;
  /** Minor units of `currency`. */
  totalAmount: number;
  currency: string;
  /** With the unit price charged (minor units, the order's currency): analytics splits revenue by it. */
  lines: (EventLine & { sku: string; name: string | null; unitAmount: number })[];
}

/**
 * `OrderCancelled` (subject: order id) → inventory releases the reservation (`reservationId` when
 * known); users tells the buyer.
 */
export interface OrderCancelledData {
  orderId: string;
  userId: string;
  reason: CancelReason;
  lines: EventLine[];
  reservationId?: string;
}

/** `OrderShipped` (subject: order id) → users tells the buyer, with the tracking number. */
export interface OrderShippedData {
  orderId: string;
  userId: string;
  trackingNumber: string;
}

/** `PlanChanged` (subject: user id) → users, signals: the user's plan is now `plan` (the sku without `PLAN-`). */
export interface PlanChangedData {
  userId: string;
  productId: string;
  sku?: string;
  plan: string;
}

/** What the payloads read of an order: an OrderEntity, or the saga's locked row (order.saga-store.ts). */
export type OrderFacts = Pick<OrderEntity, 'id' | 'userId' | 'totalAmount' | 'currency' | 'paymentMethod' | 'cancelReason' | 'reservationId'>;
/** What the payloads read of an order line. */
export type LineFacts = Pick<OrderLineEntity, 'productId' | 'sku' | 'name' | 'kind' | 'quantity' | 'unitAmount'>;

const eventLines = (lines: readonly LineFacts[]): EventLine[] => lines.map((line) => ({ productId: line.productId, kind: line.kind, quantity: line.quantity }));

export const orderPlacedData = (order: OrderFacts, lines: readonly LineFacts[]): OrderPlacedData => ({
  orderId: order.id,
  userId: order.userId,
  lines: eventLines(lines),
  total: { amount: order.totalAmount, currency: order.currency },
});

export const paymentRequestedData = (order: OrderFacts, lines: readonly LineFacts[]): PaymentRequestedData => ({
  orderId: order.id,
  userId: order.userId,
  amount: order.totalAmount,
  currency: order.currency,
  paymentMethod: order.paymentMethod,
  items: lines.map((line) => ({ productId: line.productId, sku: line.sku, kind: line.kind, quantity: line.quantity, unitAmount: line.unitAmount })),
});

export const orderConfirmedData = (order: OrderFacts, lines: readonly LineFacts[]): OrderConfirmedData => ({
  orderId: order.id,
  userId: order.userId,
  totalAmount: order.totalAmount,
  currency: order.currency,
  lines: lines.map((line) => ({ productId: line.productId, sku: line.sku, name: line.name, kind: line.kind, quantity: line.quantity, unitAmount: line.unitAmount })),
});

export function orderCancelledData(order: OrderFacts, lines: readonly LineFacts[]): OrderCancelledData {
  if (!order.cancelReason) throw new Error(`order ${order.id} is not cancelled`);
  const data: OrderCancelledData = { orderId: order.id, userId: order.userId, reason: order.cancelReason, lines: eventLines(lines) };
  if (order.reservationId) data.reservationId = order.reservationId;
  return data;
}

/** One `PlanChanged` payload per PLAN line of a paid order, in line order (subject: the user id). */
export const planChangedData = (order: OrderFacts, lines: readonly LineFacts[]): PlanChangedData[] =>
  lines
    .filter((line) => line.kind === ProductKind.PLAN)
    .map((line) => ({ userId: order.userId, productId: line.productId, sku: line.sku, plan: planOf(line.sku) }));

const record = (em: EntityManager, type: string, subject: string, data: object): OutboxEvent =>
  recordEvent(em, ORDERS_EVENT_SOURCE, type, subject, data as Record<string, unknown>);

export const recordOrderPlaced = (em: EntityManager, order: OrderEntity, lines: OrderLineEntity[]): OutboxEvent => record(em, ORDER_PLACED, order.id, orderPlacedData(order, lines));

export const recordPaymentRequested = (em: EntityManager, order: OrderEntity, lines: OrderLineEntity[]): OutboxEvent =>
  record(em, PAYMENT_REQUESTED, order.id, paymentRequestedData(order, lines));

export const recordOrderConfirmed = (em: EntityManager, order: OrderEntity, lines: OrderLineEntity[]): OutboxEvent =>
  record(em, ORDER_CONFIRMED, order.id, orderConfirmedData(order, lines));

export const recordOrderShipped = (em: EntityManager, order: Pick<OrderEntity, 'id' | 'userId' | 'trackingNumber'>): OutboxEvent => {
  if (!order.trackingNumber) throw new Error(`order ${order.id} has no tracking number`);
  const data: OrderShippedData = { orderId: order.id, userId: order.userId, trackingNumber: order.trackingNumber };
  return record(em, ORDER_SHIPPED, order.id, data);
};

export const recordOrderCancelled = (em: EntityManager, order: OrderEntity, lines: OrderLineEntity[]): OutboxEvent =>
  record(em, ORDER_CANCELLED, order.id, orderCancelledData(order, lines));

/** The plan a PLAN product grants: its sku without the `PLAN-` prefix (`PLAN-PRO` → `PRO`). */
export const planOf = (sku: string): string => (sku.startsWith('PLAN-') && sku.length > 5 ? sku.slice(5) : sku);

/** One `PlanChanged` per PLAN line of a paid order, in line order. */
export const recordPlanChanges = (em: EntityManager, order: OrderEntity, lines: OrderLineEntity[]): OutboxEvent[] =>
  planChangedData(order, lines).map((data) => record(em, PLAN_CHANGED, order.userId, data));
