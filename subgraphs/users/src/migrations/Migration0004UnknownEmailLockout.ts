import { Migration } from '@mikro-orm/migrations';

/**
 * Lockout state of sign-in emails that have no account, so an unknown email locks after the same
 * failures as a known one and the lock cannot be used to tell which emails are registered.
 */
export class Migration0004UnknownEmailLockout extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "unknown_email_lockout" (
      "email_hash" bytea not null,
      "failed_login_count" int not null default 0,
      "locked_until" timestamptz null,
      "updated_at" timestamptz not null,
      constraint "unknown_email_lockout_pkey" primary key ("email_hash")
    );`);
    this.addSql(`create index "unknown_email_lockout_updated_idx" on "unknown_email_lockout" ("updated_at");`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "unknown_email_lockout";');
  }
}
