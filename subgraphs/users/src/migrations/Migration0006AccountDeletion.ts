import { Migration } from '@mikro-orm/migrations';

/** Deleted accounts: the row stays as a tombstone without email, so the address is free to register again. */
export class Migration0006AccountDeletion extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "users" alter column "email" drop not null;`);
    this.addSql(`alter table "users" add column "deleted_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "users" drop column "deleted_at";`);
    this.addSql(`delete from "users" where "email" is null;`);
    this.addSql(`alter table "users" alter column "email" set not null;`);
  }
}
