import { Migration } from '@mikro-orm/migrations';

/** Users' TradingView sessions (sealed cookies), read by the webhook with the endpoint (one row per user). */
export class Migration0002TradingViewSession extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "tradingview_session" (
      "user_id" varchar(100) not null,
      "sealed_cookies" text not null,
      "cookie_names" jsonb not null,
      "default_chart_id" varchar(64) null,
      "created_at" timestamptz(3) not null default now(),
      "updated_at" timestamptz(3) not null default now(),
      constraint "tradingview_session_pkey" primary key ("user_id")
    );`);
  }
}
