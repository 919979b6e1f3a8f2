import { Migration } from '@mikro-orm/migrations';

/**
 * Deleted accounts: the row stays as a tombstone without email, so the address is free to register
 * again; `erasure_repeated_at` marks the second UserDeleted, sent once the account's tokens expired.
 */
export class Migration0006AccountDeletion extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "users" alter column "email" drop not null;`);
    this.addSql(`alter table "users" add column "deleted_at" timestamptz null, add column "erasure_repeated_at" timestamptz null;`);
    this.addSql(`create index "users_erasure_due_index" on "users" ("deleted_at") where "deleted_at" is not null and "erasure_repeated_at" is null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "users" drop column "deleted_at", drop column "erasure_repeated_at";`);
    this.addSql(`delete from "users" where "email" is null;`);
    this.addSql(`alter table "users" alter column "email" set not null;`);
  }
}
