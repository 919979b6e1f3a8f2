import { Migration } from '@mikro-orm/migrations';

/**
 * A PaymentIntent to stop at the provider once the cancellation of its order has committed; the
 * sweep reads the ones still owed by age.
 */
export class Migration0006OwedCancellations extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "payment" add column "provider_cancel_pending" boolean not null default false;`);
    this.addSql(`create index "payment_cancel_pending_idx" on "payment" ("updated_at") where "provider_cancel_pending";`);
  }
}
