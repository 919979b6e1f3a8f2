import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * An order the orders subgraph cancelled (OrderCancelled), kept so that whatever arrives later for
 * it never keeps money: a PaymentRequested still in flight is not charged, and a payment Stripe
 * reports succeeded anyway is refunded at once.
 */
@Entity({ tableName: 'order_cancellation' })
export class OrderCancellationEntity {
  @PrimaryKey({ type: 'string', length: 100 })
  orderId!: string;

  /** Orders' CancelReason (`OUT_OF_STOCK`, `PAYMENT_FAILED`, `EXPIRED`, `CUSTOMER`). */
  @Property({ type: 'string', length: 50 })
  reason!: string;

  /** The OrderCancelled event that told us first. */
  @Property({ type: 'uuid', nullable: true })
  eventId: string | null = null;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}
