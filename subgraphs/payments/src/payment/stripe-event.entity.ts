import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** What became of a verified webhook delivery. */
export type StripeEventOutcome = 'applied' | 'stale' | 'unmatched' | 'ignored';

/**
 * Every verified Stripe event, written in the same transaction as its effect: a redelivery
 * finds the id taken and changes nothing.
 */
@Entity({ tableName: 'stripe_event' })
export class StripeEventEntity {
  /** Stripe's `evt_…`. */
  @PrimaryKey({ type: 'string', length: 255 })
  id!: string;

  @Property({ type: 'string', length: 100 })
  type!: string;

  @Property({ type: 'string', length: 20 })
  outcome!: StripeEventOutcome;

  @Property({ type: 'uuid', nullable: true })
  paymentId: string | null = null;

  /** Stripe's `created`, when the event happened there (deliveries may come later and out of order). */
  @Property({ type: 'datetime', nullable: true })
  createdAtStripe: Date | null = null;

  @Property({ type: 'datetime' })
  receivedAt: Date = new Date();
}
