import { Entity, Index, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { PaymentStatus } from './payment-status';

/** One line of a PaymentRequested event, kept for the record (payments does not price anything). */
export interface PaymentItem {
  productId: string;
  kind: string;
  quantity: number;
}

/** The payment of one order: at most one per order (unique `order_id`), so a redelivered request creates nothing new. */
@Entity({ tableName: 'payment' })
@Index({ properties: ['userId', 'createdAt'] })
export class PaymentEntity {
  [OptionalProps]?: 'providerCancelPending';

  /** Derived from the order id (see `paymentIdFor`), so a retried request names the same payment to the provider. */
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'string', length: 100 })
  @Unique({ name: 'payment_order_id_unique' })
  orderId!: string;

  /** The customer who placed the order: the only one besides ADMIN who may read the payment. */
  @Property({ type: 'string', length: 100 })
  userId!: string;

  /** Minor units. */
  @Property({ type: 'integer' })
  amount!: number;

  /** ISO 4217, upper case. */
  @Property({ type: 'string', length: 3 })
  currency!: string;

  @Property({ type: 'string', length: 30 })
  status: PaymentStatus = PaymentStatus.PENDING;

  /** `dev` or `stripe`. */
  @Property({ type: 'string', length: 20 })
  provider!: string;

  @Property({ type: 'string', length: 100, nullable: true })
  paymentMethod: string | null = null;

  /** The provider's id: a Stripe PaymentIntent `pi_…`, or `dev_…`. */
  @Property({ type: 'string', length: 255, nullable: true })
  @Unique({ name: 'payment_provider_payment_id_unique' })
  providerPaymentId: string | null = null;

  /** Stripe's PaymentIntent client secret; shown to the owner only. */
  @Property({ type: 'string', length: 500, nullable: true })
  clientSecret: string | null = null;

  @Property({ type: 'string', length: 100, nullable: true })
  failureReason: string | null = null;

  /** Sum of SUCCEEDED refunds; kept with the refund rows in one transaction. */
  @Property({ type: 'integer' })
  refundedAmount: number = 0;

  @Property({ type: 'json', nullable: true })
  items: PaymentItem[] | null = null;

  /** The order was cancelled and the provider has not yet been told to stop this payment's PaymentIntent. */
  @Property({ type: 'boolean', default: false })
  providerCancelPending: boolean = false;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();
}
