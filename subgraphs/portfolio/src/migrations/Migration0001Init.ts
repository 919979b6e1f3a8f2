import { Migration } from '@mikro-orm/migrations';
import { INBOX_DDL } from '../../../kit/src/events';

/**
 * Portfolios, holdings and the fill ledger, last known prices, value snapshots, target allocations
 * and the inbox. No outbox: portfolio publishes no domain events.
 */
export class Migration0001Init extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "portfolio" (
      "id" uuid not null,
      "user_id" varchar(100) not null,
      "created_at" timestamptz(3) not null default now(),
      "updated_at" timestamptz(3) not null default now(),
      constraint "portfolio_pkey" primary key ("id"),
      constraint "portfolio_user_id_unique" unique ("user_id")
    );`);
    this.addSql(`create table "holding" (
      "portfolio_id" uuid not null,
      "asset" varchar(20) not null,
      "symbol" varchar(40) not null,
      "quantity" numeric not null,
      "cost_basis" numeric not null,
      "realized_pnl" numeric not null,
      "fees" numeric not null,
      "net_invested" numeric not null,
      "fill_count" int not null,
      "last_fill_at" timestamptz(3) not null,
      "last_fill_id" varchar(100) not null,
      "updated_at" timestamptz(3) not null default now(),
      constraint "holding_pkey" primary key ("portfolio_id", "asset"),
      constraint "holding_portfolio_fk" foreign key ("portfolio_id") references "portfolio" ("id") on delete cascade,
      constraint "holding_amounts_check" check ("quantity" >= 0 and "cost_basis" >= 0 and "fees" >= 0 and "fill_count" > 0)
    );`);
    // Open positions by instrument: which symbols' prices this subgraph must follow.
    this.addSql(`create index "holding_open_symbol_idx" on "holding" ("symbol") where "quantity" > 0;`);
    this.addSql(`create table "fill" (
      "fill_id" varchar(100) not null,
      "portfolio_id" uuid not null,
      "order_id" varchar(100) not null,
      "asset" varchar(20) not null,
      "symbol" varchar(40) not null,
      "side" varchar(4) not null,
      "quantity" numeric not null,
      "price" numeric not null,
      "fee" numeric not null,
      "fee_currency" varchar(20) not null,
      "fee_value" numeric not null,
      "executed_at" timestamptz(3) not null,
      "recorded_at" timestamptz(3) not null default now(),
      constraint "fill_pkey" primary key ("fill_id"),
      constraint "fill_portfolio_fk" foreign key ("portfolio_id") references "portfolio" ("id") on delete cascade,
      constraint "fill_side_check" check ("side" in ('BUY', 'SELL')),
      constraint "fill_amounts_check" check ("quantity" > 0 and "price" > 0 and "fee" >= 0 and "fee_value" >= 0)
    );`);
    this.addSql(`create index "fill_portfolio_asset_idx" on "fill" ("portfolio_id", "asset", "executed_at", "fill_id" collate "C");`);
    this.addSql(`create table "last_price" (
      "symbol" varchar(40) not null,
      "price" numeric not null,
      "observed_at" timestamptz(3) not null,
      constraint "last_price_pkey" primary key ("symbol"),
      constraint "last_price_price_check" check ("price" > 0)
    );`);
    this.addSql(`create table "portfolio_snapshot" (
      "portfolio_id" uuid not null,
      "taken_at" timestamptz(3) not null,
      "total_value" numeric not null,
      "net_invested" numeric not null,
      "cost_basis" numeric not null,
      "realized_pnl" numeric not null,
      "unrealized_pnl" numeric not null,
      constraint "portfolio_snapshot_pkey" primary key ("portfolio_id", "taken_at"),
      constraint "portfolio_snapshot_portfolio_fk" foreign key ("portfolio_id") references "portfolio" ("id") on delete cascade
    );`);
    this.addSql(`create table "target_allocation" (
      "portfolio_id" uuid not null,
      "asset" varchar(20) not null,
      "weight" numeric not null,
      constraint "target_allocation_pkey" primary key ("portfolio_id", "asset"),
      constraint "target_allocation_portfolio_fk" foreign key ("portfolio_id") references "portfolio" ("id") on delete cascade,
      constraint "target_allocation_weight_check" check ("weight" >= 0 and "weight" <= 1)
    );`);
    for (const statement of INBOX_DDL) this.addSql(statement);
  }

  override async down(): Promise<void> {
    for (const table of ['inbox', 'target_allocation', 'portfolio_snapshot', 'last_price', 'fill', 'holding', 'portfolio']) {
      this.addSql(`drop table if exists "${table}";`);
    }
  }
}
