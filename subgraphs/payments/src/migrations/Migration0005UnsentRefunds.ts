import { Migration } from '@mikro-orm/migrations';

/** The sweep of unsent refunds reads refunds recorded but never answered by the provider, by age. */
export class Migration0005UnsentRefunds extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index "refund_unsent_idx" on "refund" ("updated_at") where "status" = 'PENDING' and "provider_refund_id" is null;`);
  }
}
