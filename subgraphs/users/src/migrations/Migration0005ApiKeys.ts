import { Migration } from '@mikro-orm/migrations';

/** Partners' API keys: only the SHA-256 of a key is kept, so it cannot be read back, only matched. */
export class Migration0005ApiKeys extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "api_key" (
      "id" uuid not null,
      "user_id" uuid not null references "users" ("id") on delete cascade,
      "name" varchar(100) not null,
      "prefix" varchar(16) not null,
      "key_hash" bytea not null,
      "scopes" text[] not null,
      "created_at" timestamptz(3) not null default now(),
      "last_used_at" timestamptz(3) null,
      "expires_at" timestamptz(3) null,
      "revoked_at" timestamptz(3) null,
      constraint "api_key_pkey" primary key ("id"),
      constraint "api_key_key_hash_unique" unique ("key_hash"),
      constraint "api_key_scopes_check" check (cardinality("scopes") > 0 and "scopes" <@ array['read', 'write']::text[])
    );`);
    this.addSql(`create index "api_key_user_id_created_at_index" on "api_key" ("user_id", "created_at" desc);`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "api_key";');
  }
}
