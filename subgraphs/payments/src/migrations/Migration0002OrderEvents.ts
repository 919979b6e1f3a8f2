import { Migration } from '@mikro-orm/migrations';

/**
 * Refunds the order saga asks for: a refund row per approved return (unique `return_id`), the
 * CANCELLED payment state, and the orders known to be cancelled (`order_cancellation`).
 */
export class Migration0002OrderEvents extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "payment" drop constraint "payment_status_check";`);
    this.addSql(`alter table "payment" add constraint "payment_status_check"
      check ("status" in ('PENDING', 'REQUIRES_ACTION', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'REFUNDED', 'PARTIALLY_REFUNDED'));`);
    this.addSql(`alter table "refund"
      add column "return_id" varchar(100) null,
      add constraint "refund_return_id_unique" unique ("return_id");`);
    this.addSql(`create table "order_cancellation" (
      "order_id" varchar(100) not null,
      "reason" varchar(50) not null,
      "event_id" uuid null,
      "created_at" timestamptz not null default now(),
      constraint "order_cancellation_pkey" primary key ("order_id")
    );`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "order_cancellation";');
    this.addSql('alter table "refund" drop constraint if exists "refund_return_id_unique", drop column if exists "return_id";');
    this.addSql(`update "payment" set "status" = 'FAILED' where "status" = 'CANCELLED';`);
    this.addSql(`alter table "payment" drop constraint "payment_status_check";`);
    this.addSql(`alter table "payment" add constraint "payment_status_check"
      check ("status" in ('PENDING', 'REQUIRES_ACTION', 'SUCCEEDED', 'FAILED', 'REFUNDED', 'PARTIALLY_REFUNDED'));`);
  }
}
