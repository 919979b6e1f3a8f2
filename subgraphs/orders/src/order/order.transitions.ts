import { LockMode, QueryOrder } from '@mikro-orm/core';
import type { EntityManager } from '../../../kit/src';
import { canTransition, IllegalTransitionError, OrderStatus, type CancelReason } from './order-state';
import { OrderEntity, OrderHistoryEntity, OrderLineEntity } from './order.entity';
import { observeCompensated, type SagaMetrics } from './order.metrics';
import { recordOrderCancelled } from './order.outbox';

/**
 * Loads an order and locks its row (SELECT … FOR UPDATE) until the transaction ends, so two
 * events or actions on one order run one after the other, each seeing the other's result.
 */
export function lockOrder(tx: EntityManager, orderId: string): Promise<OrderEntity | null> {
  return tx.findOne(OrderEntity, { id: orderId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
}

export function orderLines(tx: EntityManager, orderId: string): Promise<OrderLineEntity[]> {
  return tx.find(OrderLineEntity, { orderId }, { orderBy: { position: QueryOrder.ASC } });
}

/** Appends a history entry under the order's current status (a note, not a transition). */
export function appendHistory(tx: EntityManager, order: OrderEntity, reason: string | null, at = new Date()): void {
  tx.persist(tx.create(OrderHistoryEntity, { orderId: order.id, status: order.status, reason, at }));
}

/** The fields a transition changes: on an OrderEntity, or on the saga's locked row (order.saga-store.ts). */
export type TransitionState = Pick<OrderEntity, 'id' | 'status' | 'updatedAt' | 'cancelReason' | 'closedAt'>;

export interface TransitionOptions {
  reason?: string | null;
  cancelReason?: CancelReason;
  at?: Date;
}

/**
 * The state machine's side of a transition: refuses an edge the machine does not have
 * (IllegalTransitionError, nothing changed), else sets the status and the fields that go with it.
 * Returns the time of the transition, for its history entry.
 */
export function moveOrder(order: TransitionState, to: OrderStatus, options: TransitionOptions = {}): Date {
  if (!canTransition(order.status, to)) throw new IllegalTransitionError(order.status, to);
  const at = options.at ?? new Date();
  order.status = to;
  order.updatedAt = at;
  if (to === OrderStatus.CANCELLED) order.cancelReason = options.cancelReason ?? null;
  if (to === OrderStatus.CANCELLED || to === OrderStatus.PAID) order.closedAt = at;
  return at;
}

/**
 * Moves a (locked) order along one edge of the state machine and appends the history entry.
 * An edge the machine does not have throws IllegalTransitionError and changes nothing.
 */
export function applyTransition(tx: EntityManager, order: OrderEntity, to: OrderStatus, options: TransitionOptions = {}): void {
  const at = moveOrder(order, to, options);
  appendHistory(tx, order, options.reason ?? null, at);
}

/**
 * The compensation every cancellation shares: CANCELLED with its reason, and `OrderCancelled`
 * so inventory releases the reservation (no payment was taken in any cancellable state).
 */
export async function cancelLockedOrder(
  tx: EntityManager,
  order: OrderEntity,
  reason: CancelReason,
  metrics: SagaMetrics | undefined,
  note: string | null = reason,
): Promise<void> {
  const at = new Date();
  applyTransition(tx, order, OrderStatus.CANCELLED, { reason: note, cancelReason: reason, at });
  recordOrderCancelled(tx, order, await orderLines(tx, order.id));
  observeCompensated(metrics, reason, order.createdAt, at);
}
