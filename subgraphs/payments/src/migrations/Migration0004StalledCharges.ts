import { Migration } from '@mikro-orm/migrations';

/** The sweep of stalled charges reads undecided payments by age: only PENDING rows are indexed. */
export class Migration0004StalledCharges extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index "payment_pending_idx" on "payment" ("updated_at") where "status" = 'PENDING';`);
  }
}
