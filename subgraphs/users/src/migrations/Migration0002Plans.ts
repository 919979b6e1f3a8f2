import { Migration } from '@mikro-orm/migrations';
import { INBOX_DDL, OUTBOX_NOTIFY_DDL } from '../../../kit/src';

/** The user's plan, kept from orders' PlanChanged events; the inbox and outbox wake-ups for the event bus. */
export class Migration0002Plans extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "users" add column "plan" varchar(50) not null default 'FREE', add column "plan_changed_at" timestamptz null;`);
    for (const statement of [...OUTBOX_NOTIFY_DDL, ...INBOX_DDL]) this.addSql(statement);
  }
}
