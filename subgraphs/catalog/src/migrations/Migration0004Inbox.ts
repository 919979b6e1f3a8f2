import { Migration } from '@mikro-orm/migrations';
import { INBOX_DDL } from '../../../kit/src';

/** The inbox: catalog now consumes events (UserDeleted), each applied once. */
export class Migration0004Inbox extends Migration {
  override async up(): Promise<void> {
    for (const statement of INBOX_DDL) this.addSql(statement);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "inbox";');
  }
}
