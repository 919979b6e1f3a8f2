import { Migration } from '@mikro-orm/migrations';

/**
 * Users erased after `UserDeleted`: a fill of theirs that arrives later, or a target change made
 * with an access token still alive, must not write a portfolio again.
 */
export class Migration0002ErasedUsers extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "erased_user" (
      "user_id" varchar(100) not null,
      "erased_at" timestamptz not null default now(),
      constraint "erased_user_pkey" primary key ("user_id")
    );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "erased_user";`);
  }
}
