import { Migration } from '@mikro-orm/migrations';

/** Password reset links: only the SHA-256 of a link's token is kept; a token works once, until it expires. */
export class Migration0007PasswordReset extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "password_reset" (
      "token_hash" bytea not null,
      "user_id" uuid not null references "users" ("id") on delete cascade,
      "created_at" timestamptz not null,
      "expires_at" timestamptz not null,
      constraint "password_reset_pkey" primary key ("token_hash")
    );`);
    this.addSql(`create index "password_reset_user_id_index" on "password_reset" ("user_id", "created_at" desc);`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "password_reset";');
  }
}
