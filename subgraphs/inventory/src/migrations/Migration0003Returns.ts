import { Migration } from '@mikro-orm/migrations';

/**
 * Returns: the `restock` table, one row per approved return whose goods went back on the shelf
 * (the return id is the key, so a return restocks once), and the ledger's link to it.
 */
export class Migration0003Returns extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "restock" (
      "return_id" varchar(100) not null,
      "order_id" varchar(100) not null,
      "lines" jsonb not null default '[]',
      "event_id" varchar(100) null,
      "created_at" timestamptz not null default now(),
      constraint "restock_pkey" primary key ("return_id"),
      constraint "restock_lines_check" check (jsonb_typeof("lines") = 'array')
    );`);
    this.addSql(`create index "restock_order_id_index" on "restock" ("order_id");`);
    // The ledger rows of a restock name their return; one row per product and return, a second guard against restocking twice.
    this.addSql(`alter table "stock_movement" add column "return_id" varchar(100) null;`);
    this.addSql(`create unique index "stock_movement_return_id_product_id_unique" on "stock_movement" ("return_id", "product_id") where "return_id" is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql('drop index if exists "stock_movement_return_id_product_id_unique";');
    this.addSql('alter table "stock_movement" drop column "return_id";');
    this.addSql('drop table if exists "restock";');
  }
}
