import { randomUUID } from 'node:crypto';
import { BigIntType, Entity, Index, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { CancelReason, OrderStatus } from './order-state';

/**
 * An order. Its status only changes through `applyTransition` on a row locked with
 * SELECT … FOR UPDATE; `version` is also checked on every update (optimistic lock), so a write
 * from a stale copy fails instead of overwriting.
 */
@Entity({ tableName: 'orders' })
@Unique({ properties: ['userId', 'idempotencyKey'] })
@Index({ properties: ['userId', 'createdAt', 'id'] })
export class OrderEntity {
  [OptionalProps]?: 'id' | 'cancelReason' | 'reservationId' | 'paymentId' | 'trackingNumber' | 'version' | 'createdAt' | 'updatedAt' | 'closedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'string', length: 100 })
  userId!: string;

  @Property({ type: 'string', length: 20 })
  status!: OrderStatus;

  @Property({ type: 'string', length: 20, nullable: true })
  cancelReason: CancelReason | null = null;

  /** Minor units; the sum of the lines at checkout prices. */
  @Property({ type: 'integer' })
  totalAmount!: number;

  @Property({ type: 'string', length: 3 })
  currency!: string;

  @Property({ type: 'string', length: 100 })
  paymentMethod!: string;

  @Property({ type: 'string', length: 100 })
  idempotencyKey!: string;

  /** Inventory's reservation, from StockReserved. */
  @Property({ type: 'string', length: 100, nullable: true })
  reservationId: string | null = null;

  /** Payments' payment, from PaymentSucceeded (also a late one on a cancelled order, which is to be refunded). */
  @Property({ type: 'string', length: 100, nullable: true })
  paymentId: string | null = null;

  @Property({ type: 'string', length: 100, nullable: true })
  trackingNumber: string | null = null;

  @Property({ type: 'integer', version: true })
  version: number = 1;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3 })
  updatedAt: Date = new Date();

  /** When the saga ended: paid (PAID) or cancelled. */
  @Property({ type: 'datetime', length: 3, nullable: true })
  closedAt: Date | null = null;
}

/** One product of an order, priced at checkout from the product snapshot. Never changes. */
@Entity({ tableName: 'order_line' })
@Unique({ properties: ['orderId', 'productId'] })
export class OrderLineEntity {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  orderId!: string;

  /** Order of the lines as they were in the cart. */
  @Property({ type: 'integer' })
  position!: number;

  @Property({ type: 'string', length: 100 })
  productId!: string;

  @Property({ type: 'string', length: 100 })
  sku!: string;

  /** The product's name at checkout; null when catalog had not sent one. */
  @Property({ type: 'string', length: 200, nullable: true })
  name: string | null = null;

  @Property({ type: 'string', length: 16 })
  kind!: string;

  @Property({ type: 'integer' })
  quantity!: number;

  /** Minor units, from the product snapshot at checkout. */
  @Property({ type: 'integer' })
  unitAmount!: number;

  @Property({ type: 'string', length: 3 })
  currency!: string;
}

/** One step of an order's life: every transition, and notes such as a late payment. Rows are never updated. */
@Entity({ tableName: 'order_history' })
@Index({ properties: ['orderId', 'id'] })
export class OrderHistoryEntity {
  /** Identity: ordering by id is the order in which steps happened. */
  @PrimaryKey({ type: new BigIntType('string'), autoincrement: true })
  id!: string;

  @Property({ type: 'uuid' })
  orderId!: string;

  @Property({ type: 'string', length: 20 })
  status!: OrderStatus;

  @Property({ type: 'string', length: 500, nullable: true })
  reason: string | null = null;

  @Property({ type: 'datetime', length: 3 })
  at: Date = new Date();
}
