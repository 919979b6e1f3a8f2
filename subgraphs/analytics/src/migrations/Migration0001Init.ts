import { Migration } from '@mikro-orm/migrations';
import { INBOX_DDL } from '../../../kit/src/events';

/**
 * Rollups of the domain events and the few per-entity rows needed to apply them exactly once and in
 * any order (a sale joins its payment and its confirmation; a refund can fail after it was counted).
 * Money in integer minor units, trading amounts as NUMERIC. No outbox: analytics publishes nothing.
 */
export class Migration0001Init extends Migration {
  override async up(): Promise<void> {
    // ---- sales ----
    this.addSql(`create table "product_price" (
      "product_id" varchar(100) not null,
      "currency" char(3) not null,
      "price_minor" bigint not null,
      "source_occurred_at" timestamptz not null,
      constraint "product_price_pkey" primary key ("product_id")
    );`);
    this.addSql(`create table "sale_order" (
      "order_id" varchar(100) not null,
      "currency" char(3) null,
      "paid_minor" bigint null,
      "paid_at" timestamptz null,
      "lines" jsonb null,
      "confirmed_at" timestamptz null,
      "settled_at" timestamptz null,
      constraint "sale_order_pkey" primary key ("order_id")
    );`);
    this.addSql(`create table "sale_refund" (
      "refund_id" varchar(100) not null,
      "order_id" varchar(100) not null,
      "currency" char(3) not null,
      "amount_minor" bigint not null,
      "issued_day" date null,
      "failed_at" timestamptz null,
      constraint "sale_refund_pkey" primary key ("refund_id")
    );`);
    this.addSql(`create table "daily_sales" (
      "day" date not null,
      "currency" char(3) not null,
      "orders" int not null default 0,
      "revenue_minor" bigint not null default 0,
      "refunds_minor" bigint not null default 0,
      constraint "daily_sales_pkey" primary key ("currency", "day")
    );`);
    this.addSql(`create table "daily_orders" (
      "day" date not null,
      "confirmed" int not null default 0,
      "cancelled" int not null default 0,
      "payment_failures" int not null default 0,
      "reservations_expired" int not null default 0,
      "returns" int not null default 0,
      constraint "daily_orders_pkey" primary key ("day")
    );`);
    this.addSql(`create table "product_sales" (
      "product_id" varchar(100) not null,
      "currency" char(3) not null,
      "units" bigint not null default 0,
      "revenue_minor" bigint not null default 0,
      "units_returned" bigint not null default 0,
      constraint "product_sales_pkey" primary key ("product_id", "currency")
    );`);
    this.addSql(`create table "low_stock_alert" (
      "event_id" uuid not null,
      "product_id" varchar(100) not null,
      "available" int null,
      "threshold" int null,
      "occurred_at" timestamptz not null,
      constraint "low_stock_alert_pkey" primary key ("event_id")
    );`);
    this.addSql('create index "low_stock_alert_occurred_at_index" on "low_stock_alert" ("occurred_at" desc);');

    // ---- users ----
    this.addSql(`create table "daily_signups" (
      "day" date not null,
      "signups" int not null default 0,
      constraint "daily_signups_pkey" primary key ("day")
    );`);
    this.addSql(`create table "daily_plan_changes" (
      "day" date not null,
      "plan" varchar(50) not null,
      "changes" int not null default 0,
      constraint "daily_plan_changes_pkey" primary key ("day", "plan")
    );`);

    // ---- trading ----
    this.addSql(`create table "trading_stats" (
      "user_id" varchar(100) not null,
      "quote" varchar(20) not null,
      "fills" int not null default 0,
      "volume" numeric not null default 0,
      "fees" numeric not null default 0,
      "last_fill_at" timestamptz not null,
      constraint "trading_stats_pkey" primary key ("user_id", "quote")
    );`);
    this.addSql(`create table "hourly_trading" (
      "hour" timestamptz not null,
      "quote" varchar(20) not null,
      "fills" int not null default 0,
      "volume" numeric not null default 0,
      "fees" numeric not null default 0,
      constraint "hourly_trading_pkey" primary key ("hour", "quote")
    );`);
    this.addSql(`create table "trade_order_state" (
      "order_id" varchar(100) not null,
      "user_id" varchar(100) not null,
      "status" varchar(30) not null,
      "first_seen_at" timestamptz not null,
      "updated_at" timestamptz not null,
      constraint "trade_order_state_pkey" primary key ("order_id")
    );`);
    this.addSql('create index "trade_order_state_first_seen_at_index" on "trade_order_state" ("first_seen_at");');

    // ---- signals ----
    this.addSql(`create table "signal_stats" (
      "day" date not null,
      "received" int not null default 0,
      "screenshots" int not null default 0,
      "wins" int not null default 0,
      "losses" int not null default 0,
      "skips" int not null default 0,
      constraint "signal_stats_pkey" primary key ("day")
    );`);
    this.addSql(`create table "signal_outcome" (
      "signal_id" varchar(100) not null,
      "result" varchar(10) null,
      "day" date null,
      "resolved_at" timestamptz null,
      constraint "signal_outcome_pkey" primary key ("signal_id")
    );`);

    for (const statement of INBOX_DDL) this.addSql(statement);
  }

  override async down(): Promise<void> {
    for (const table of [
      'inbox',
      'signal_outcome',
      'signal_stats',
      'trade_order_state',
      'hourly_trading',
      'trading_stats',
      'daily_plan_changes',
      'daily_signups',
      'low_stock_alert',
      'product_sales',
      'daily_orders',
      'daily_sales',
      'sale_refund',
      'sale_order',
      'product_price',
    ]) {
      this.addSql(`drop table if exists "${table}";`);
    }
  }
}
