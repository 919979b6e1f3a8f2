import { Entity, PrimaryKey, Property } from '@mikro-orm/core';
import type { Plan } from './plan';

/** A user's quota plan, from the latest PlanChanged (a user without a row is free). */
@Entity({ tableName: 'user_plan' })
export class UserPlanEntity {
  @PrimaryKey({ type: 'string', length: 100 })
  userId!: string;

  @Property({ type: 'string', length: 16 })
  plan!: Plan;

  /** occurredAt of the event that set it: an older event arriving late changes nothing. */
  @Property({ type: 'datetime', length: 3 })
  changedAt!: Date;
}

/** Signals a user received in one calendar month (UTC), counted by the webhook against the plan's quota. */
@Entity({ tableName: 'signal_usage' })
export class SignalUsageEntity {
  @PrimaryKey({ type: 'string', length: 100 })
  userId!: string;

  /** The first day of the month. */
  @PrimaryKey({ type: 'date' })
  month!: string;

  @Property({ type: 'integer' })
  count!: number;
}
