import { Migration } from '@mikro-orm/migrations';
import { OUTBOX_DDL } from '../../../kit/src';

/** Categories, products (with a generated full-text search column), reviews and the outbox. */
export class Migration0001Init extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "category" (
      "id" uuid not null,
      "slug" varchar(100) not null,
      "name" varchar(200) not null,
      "parent_id" uuid null,
      "created_at" timestamptz(3) not null default now(),
      constraint "category_pkey" primary key ("id"),
      constraint "category_slug_unique" unique ("slug"),
      constraint "category_parent_fk" foreign key ("parent_id") references "category" ("id") on delete restrict,
      constraint "category_not_own_parent" check ("parent_id" is null or "parent_id" <> "id")
    );`);
    this.addSql(`create index "category_parent_idx" on "category" ("parent_id");`);

    this.addSql(`create table "product" (
      "id" uuid not null,
      "sku" varchar(64) not null,
      "name" varchar(200) not null,
      "description" text not null,
      "kind" varchar(16) not null,
      "price_amount" integer not null,
      "currency" varchar(3) not null,
      "attributes" jsonb null,
      "active" boolean not null default true,
      "rating_sum" integer not null default 0,
      "rating_count" integer not null default 0,
      "created_at" timestamptz(3) not null default now(),
      "updated_at" timestamptz(3) not null default now(),
      "search" tsvector generated always as (
        setweight(to_tsvector('english', coalesce("name", '')), 'A') ||
        setweight(to_tsvector('english', coalesce("sku", '')), 'A') ||
        setweight(to_tsvector('english', coalesce("description", '')), 'B')
      ) stored,
      constraint "product_pkey" primary key ("id"),
      constraint "product_sku_unique" unique ("sku"),
      constraint "product_kind_check" check ("kind" in ('INDICATOR', 'PLAN', 'GOOD')),
      constraint "product_price_check" check ("price_amount" >= 0),
      constraint "product_currency_check" check ("currency" ~ '^[A-Z]{3}$'),
      constraint "product_rating_check" check ("rating_sum" >= 0 and "rating_count" >= 0)
    );`);
    this.addSql(`create index "product_search_idx" on "product" using gin ("search");`);
    this.addSql(`create index "product_created_idx" on "product" ("created_at" desc, "id" desc);`);
    this.addSql(`create index "product_kind_idx" on "product" ("kind");`);

    this.addSql(`create table "product_category" (
      "product_id" uuid not null,
      "category_id" uuid not null,
      constraint "product_category_pkey" primary key ("product_id", "category_id"),
      constraint "product_category_product_fk" foreign key ("product_id") references "product" ("id") on delete cascade,
      constraint "product_category_category_fk" foreign key ("category_id") references "category" ("id") on delete restrict
    );`);
    this.addSql(`create index "product_category_category_idx" on "product_category" ("category_id");`);

    this.addSql(`create table "review" (
      "id" uuid not null,
      "product_id" uuid not null,
      "author_id" varchar(100) not null,
      "rating" smallint not null,
      "text" text not null,
      "created_at" timestamptz(3) not null default now(),
      constraint "review_pkey" primary key ("id"),
      constraint "review_product_fk" foreign key ("product_id") references "product" ("id") on delete cascade,
      constraint "review_rating_check" check ("rating" between 1 and 5)
    );`);
    this.addSql(`create unique index "review_product_author_unique" on "review" ("product_id", "author_id");`);
    this.addSql(`create index "review_product_created_idx" on "review" ("product_id", "created_at" desc, "id" desc);`);

    for (const statement of OUTBOX_DDL) this.addSql(statement);
  }

  override async down(): Promise<void> {
    for (const table of ['outbox', 'review', 'product_category', 'product', 'category']) this.addSql(`drop table if exists "${table}";`);
  }
}
