import { Migration } from '@mikro-orm/migrations';

/**
 * Erasure (`UserDeleted`): the ids of erased users, so a late fill or trade order update of theirs
 * writes no per-user row again, and the trade orders of erased users counted by the day they were
 * first seen, so "trade orders today" keeps counting them once their rows are gone.
 */
export class Migration0002ErasedUsers extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "erased_user" (
      "user_id" varchar(100) not null,
      "erased_at" timestamptz not null default now(),
      constraint "erased_user_pkey" primary key ("user_id")
    );`);
    this.addSql(`create table "daily_erased_trade_orders" (
      "day" date not null,
      "orders" int not null default 0,
      constraint "daily_erased_trade_orders_pkey" primary key ("day")
    );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "daily_erased_trade_orders";`);
    this.addSql(`drop table if exists "erased_user";`);
  }
}
