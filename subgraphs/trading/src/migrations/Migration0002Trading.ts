import { Migration } from '@mikro-orm/migrations';
import { OUTBOX_NOTIFY_DDL } from '../../../kit/src/events';

/**
 * Exchange accounts, paper balances, trade orders with their fills and history, positions and
 * daily realised PnL (the loss limit). Balances and reservations carry CHECK constraints so no
 * write, however concurrent, can leave one negative: the database refuses it and the order with it.
 */
export class Migration0002Trading extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "exchange_account" (
      "id" uuid not null,
      "user_id" varchar(100) not null,
      "kind" varchar(10) not null,
      "exchange_id" varchar(40) not null,
      "label" varchar(100) not null,
      "credentials" text null,
      "api_key_hint" varchar(8) null,
      "fee_rate" numeric not null,
      "slippage_bps" numeric not null,
      "created_at" timestamptz(3) not null,
      "unlinked_at" timestamptz(3) null,
      constraint "exchange_account_pkey" primary key ("id"),
      constraint "exchange_account_kind_check" check ("kind" in ('paper', 'ccxt')),
      constraint "exchange_account_terms_check" check ("fee_rate" >= 0 and "fee_rate" < 1 and "slippage_bps" >= 0 and "slippage_bps" < 10000),
      constraint "exchange_account_credentials_check" check ("kind" = 'ccxt' or "credentials" is null)
    );`);
    this.addSql(`create index "exchange_account_user_idx" on "exchange_account" ("user_id", "created_at");`);

    this.addSql(`create table "paper_balance" (
      "account_id" uuid not null,
      "asset" varchar(20) not null,
      "free" numeric not null default 0,
      "locked" numeric not null default 0,
      "updated_at" timestamptz(3) not null default now(),
      constraint "paper_balance_pkey" primary key ("account_id", "asset"),
      constraint "paper_balance_account_fk" foreign key ("account_id") references "exchange_account" ("id") on delete cascade,
      constraint "paper_balance_free_check" check ("free" >= 0),
      constraint "paper_balance_locked_check" check ("locked" >= 0)
    );`);

    this.addSql(`create table "trade_order" (
      "id" uuid not null,
      "user_id" varchar(100) not null,
      "account_id" uuid not null,
      "client_order_id" varchar(64) not null,
      "symbol" varchar(40) not null,
      "base" varchar(20) not null,
      "quote" varchar(20) not null,
      "side" varchar(4) not null,
      "type" varchar(16) not null,
      "quantity" numeric not null,
      "price" numeric null,
      "stop_price" numeric null,
      "trailing_percent" numeric null,
      "trailing_amount" numeric null,
      "visible_quantity" numeric null,
      "twap_duration_ms" int null,
      "twap_slices" int null,
      "exits" jsonb null,
      "parent_id" uuid null,
      "oco_group_id" uuid null,
      "oco_role" varchar(12) null,
      "status" varchar(20) not null,
      "filled_quantity" numeric not null default 0,
      "average_price" numeric null,
      "fee_total" numeric not null default 0,
      "reason" varchar(500) null,
      "execution" varchar(10) not null,
      "trigger_state" jsonb null,
      "reserved_asset" varchar(20) null,
      "reserved_amount" numeric not null default 0,
      "exchange_order_id" varchar(100) null,
      "triggered_at" timestamptz(3) null,
      "trigger_tick_at" timestamptz(3) null,
      "created_at" timestamptz(3) not null,
      "updated_at" timestamptz(3) not null,
      "closed_at" timestamptz(3) null,
      "version" int not null default 1,
      constraint "trade_order_pkey" primary key ("id"),
      constraint "trade_order_account_fk" foreign key ("account_id") references "exchange_account" ("id"),
      constraint "trade_order_parent_fk" foreign key ("parent_id") references "trade_order" ("id"),
      constraint "trade_order_client_order_id_unique" unique ("user_id", "client_order_id"),
      constraint "trade_order_side_check" check ("side" in ('BUY', 'SELL')),
      constraint "trade_order_type_check" check ("type" in ('MARKET', 'LIMIT', 'STOP_MARKET', 'STOP_LIMIT', 'TAKE_PROFIT', 'TRAILING_STOP', 'ICEBERG', 'TWAP')),
      constraint "trade_order_status_check" check ("status" in ('NEW', 'OPEN', 'PARTIALLY_FILLED', 'FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED')),
      constraint "trade_order_execution_check" check ("execution" in ('native', 'emulated')),
      constraint "trade_order_oco_role_check" check ("oco_role" is null or "oco_role" in ('TAKE_PROFIT', 'STOP_LOSS')),
      constraint "trade_order_quantity_check" check ("quantity" > 0 and "filled_quantity" >= 0 and "filled_quantity" <= "quantity"),
      constraint "trade_order_reserved_check" check ("reserved_amount" >= 0 and "fee_total" >= 0)
    );`);
    this.addSql(`create index "trade_order_user_idx" on "trade_order" ("user_id", "created_at" desc, "id" desc);`);
    this.addSql(`create index "trade_order_account_idx" on "trade_order" ("account_id", "symbol", "side") where "status" in ('NEW', 'OPEN', 'PARTIALLY_FILLED');`);
    this.addSql(`create index "trade_order_open_idx" on "trade_order" ("execution", "status") where "status" in ('NEW', 'OPEN', 'PARTIALLY_FILLED');`);
    this.addSql(`create index "trade_order_oco_idx" on "trade_order" ("oco_group_id") where "oco_group_id" is not null;`);
    this.addSql(`create index "trade_order_parent_idx" on "trade_order" ("parent_id") where "parent_id" is not null;`);

    this.addSql(`create table "fill" (
      "id" uuid not null,
      "order_id" uuid not null,
      "account_id" uuid not null,
      "price" numeric not null,
      "quantity" numeric not null,
      "fee" numeric not null,
      "fee_currency" varchar(20) not null,
      "liquidity" varchar(5) not null,
      "exchange_trade_id" varchar(100) null,
      "executed_at" timestamptz(3) not null,
      constraint "fill_pkey" primary key ("id"),
      constraint "fill_order_fk" foreign key ("order_id") references "trade_order" ("id"),
      constraint "fill_trade_unique" unique ("order_id", "exchange_trade_id"),
      constraint "fill_values_check" check ("price" > 0 and "quantity" > 0 and "fee" >= 0),
      constraint "fill_liquidity_check" check ("liquidity" in ('MAKER', 'TAKER'))
    );`);
    this.addSql(`create index "fill_order_idx" on "fill" ("order_id", "executed_at");`);

    this.addSql(`create table "trade_order_history" (
      "id" bigint generated always as identity,
      "order_id" uuid not null,
      "status" varchar(20) not null,
      "filled_quantity" numeric not null,
      "reason" varchar(500) null,
      "at" timestamptz(3) not null,
      constraint "trade_order_history_pkey" primary key ("id"),
      constraint "trade_order_history_order_fk" foreign key ("order_id") references "trade_order" ("id")
    );`);
    this.addSql(`create index "trade_order_history_order_idx" on "trade_order_history" ("order_id", "id");`);

    this.addSql(`create table "account_position" (
      "account_id" uuid not null,
      "symbol" varchar(40) not null,
      "quantity" numeric not null default 0,
      "cost" numeric not null default 0,
      "updated_at" timestamptz(3) not null default now(),
      constraint "account_position_pkey" primary key ("account_id", "symbol"),
      constraint "account_position_account_fk" foreign key ("account_id") references "exchange_account" ("id") on delete cascade,
      constraint "account_position_values_check" check ("quantity" >= 0 and "cost" >= 0)
    );`);

    this.addSql(`create table "daily_pnl" (
      "account_id" uuid not null,
      "day" date not null,
      "realized" numeric not null default 0,
      "fees" numeric not null default 0,
      constraint "daily_pnl_pkey" primary key ("account_id", "day"),
      constraint "daily_pnl_account_fk" foreign key ("account_id") references "exchange_account" ("id") on delete cascade
    );`);

    // Wakes the outbox relay at commit instead of waiting for its next poll.
    for (const statement of OUTBOX_NOTIFY_DDL) this.addSql(statement);
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger if exists "outbox_notify_insert" on "outbox";');
    this.addSql('drop function if exists "outbox_notify"();');
    for (const table of ['daily_pnl', 'account_position', 'trade_order_history', 'fill', 'trade_order', 'paper_balance', 'exchange_account']) {
      this.addSql(`drop table if exists "${table}";`);
    }
  }
}
