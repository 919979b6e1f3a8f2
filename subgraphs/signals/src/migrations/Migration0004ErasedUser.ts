import { Migration } from '@mikro-orm/migrations';

/** Users whose data was erased (UserDeleted): a late PlanChanged must not bring their plan row back. */
export class Migration0004ErasedUser extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "erased_user" (
      "user_id" varchar(100) not null,
      "erased_at" timestamptz not null,
      constraint "erased_user_pkey" primary key ("user_id")
    );`);
  }
}
