import { Migration } from '@mikro-orm/migrations';

/**
 * Verified email addresses, and the links that verify them: an account's own address (VERIFY) or
 * a new one it asked to change to (CHANGE). Only the SHA-256 of a link's token is kept.
 */
export class Migration0008EmailVerification extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table "users" add column "email_verified_at" timestamptz null;');
    this.addSql(`create table "email_verification" (
      "token_hash" varchar(64) not null,
      "user_id" uuid not null references "users" ("id") on delete cascade,
      "kind" varchar(10) not null check ("kind" in ('VERIFY', 'CHANGE')),
      "email" varchar(254) not null,
      "created_at" timestamptz not null,
      "expires_at" timestamptz not null,
      constraint "email_verification_pkey" primary key ("token_hash")
    );`);
    this.addSql(`create index "email_verification_user_id_index" on "email_verification" ("user_id", "kind", "created_at" desc);`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "email_verification";');
    this.addSql('alter table "users" drop column if exists "email_verified_at";');
  }
}
