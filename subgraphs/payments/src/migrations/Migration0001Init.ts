import { Migration } from '@mikro-orm/migrations';
import { OUTBOX_DDL } from '../../../kit/src';
import { INBOX_DDL, OUTBOX_NOTIFY_DDL } from '../../../kit/src/events';

/** Payments, refunds, processed Stripe events, the outbox (with its relay wake-up) and the inbox. */
export class Migration0001Init extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "payment" (
      "id" uuid not null,
      "order_id" varchar(100) not null,
      "user_id" varchar(100) not null,
      "amount" int not null,
      "currency" varchar(3) not null,
      "status" varchar(30) not null,
      "provider" varchar(20) not null,
      "payment_method" varchar(100) null,
      "provider_payment_id" varchar(255) null,
      "client_secret" varchar(500) null,
      "failure_reason" varchar(100) null,
      "refunded_amount" int not null default 0,
      "items" jsonb null,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "payment_pkey" primary key ("id"),
      constraint "payment_order_id_unique" unique ("order_id"),
      constraint "payment_provider_payment_id_unique" unique ("provider_payment_id"),
      constraint "payment_amount_check" check ("amount" > 0),
      constraint "payment_currency_check" check ("currency" ~ '^[A-Z]{3}$'),
      constraint "payment_status_check" check ("status" in ('PENDING', 'REQUIRES_ACTION', 'SUCCEEDED', 'FAILED', 'REFUNDED', 'PARTIALLY_REFUNDED')),
      constraint "payment_refunded_amount_check" check ("refunded_amount" >= 0 and "refunded_amount" <= "amount")
    );`);
    this.addSql('create index "payment_user_id_created_at_index" on "payment" ("user_id", "created_at");');
    this.addSql(`create table "refund" (
      "id" uuid not null,
      "payment_id" uuid not null,
      "amount" int not null,
      "currency" varchar(3) not null,
      "status" varchar(20) not null,
      "reason" varchar(500) null,
      "provider_refund_id" varchar(255) null,
      "failure_reason" varchar(100) null,
      "requested_by" varchar(100) not null,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "refund_pkey" primary key ("id"),
      constraint "refund_payment_fk" foreign key ("payment_id") references "payment" ("id"),
      constraint "refund_provider_refund_id_unique" unique ("provider_refund_id"),
      constraint "refund_amount_check" check ("amount" > 0),
      constraint "refund_status_check" check ("status" in ('PENDING', 'SUCCEEDED', 'FAILED'))
    );`);
    this.addSql('create index "refund_payment_id_created_at_index" on "refund" ("payment_id", "created_at");');
    this.addSql(`create table "stripe_event" (
      "id" varchar(255) not null,
      "type" varchar(100) not null,
      "outcome" varchar(20) not null,
      "payment_id" uuid null,
      "created_at_stripe" timestamptz null,
      "received_at" timestamptz not null default now(),
      constraint "stripe_event_pkey" primary key ("id")
    );`);
    for (const statement of [...OUTBOX_DDL, ...OUTBOX_NOTIFY_DDL, ...INBOX_DDL]) this.addSql(statement);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "inbox";');
    this.addSql('drop table if exists "outbox";');
    this.addSql('drop function if exists "outbox_notify"();');
    this.addSql('drop table if exists "stripe_event";');
    this.addSql('drop table if exists "refund";');
    this.addSql('drop table if exists "payment";');
  }
}
