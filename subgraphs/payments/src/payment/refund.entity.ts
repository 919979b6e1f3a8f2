import { Entity, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { RefundStatus } from './payment-status';

/** Money given back on a payment; several partial refunds may exist, never more in total than was paid. */
@Entity({ tableName: 'refund' })
@Index({ properties: ['paymentId', 'createdAt'] })
export class RefundEntity {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'uuid' })
  paymentId!: string;

  /** Minor units, in the payment's currency. */
  @Property({ type: 'integer' })
  amount!: number;

  @Property({ type: 'string', length: 3 })
  currency!: string;

  @Property({ type: 'string', length: 20 })
  status: RefundStatus = RefundStatus.PENDING;

  @Property({ type: 'string', length: 500, nullable: true })
  reason: string | null = null;

  /** Stripe's `re_…`, or `dev_…`. */
  @Property({ type: 'string', length: 255, nullable: true })
  @Unique({ name: 'refund_provider_refund_id_unique' })
  providerRefundId: string | null = null;

  @Property({ type: 'string', length: 100, nullable: true })
  failureReason: string | null = null;

  /** The orders subgraph's return this refund pays back (ReturnApproved): at most one refund per return. */
  @Property({ type: 'string', length: 100, nullable: true })
  @Unique({ name: 'refund_return_id_unique' })
  returnId: string | null = null;

  /**
   * Who asked for it: an admin's user id, `orders` for refunds the order saga asks for (an approved
   * return, a cancelled order's payment), or `stripe` for a refund made outside Mercado (dashboard).
   */
  @Property({ type: 'string', length: 100 })
  requestedBy!: string;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();
}
