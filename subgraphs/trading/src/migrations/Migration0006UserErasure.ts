import { Migration } from '@mikro-orm/migrations';
import { INBOX_DDL } from '../../../kit/src';

/** The inbox: trading consumes its first event, UserDeleted (account erasure). */
export class Migration0006UserErasure extends Migration {
  override async up(): Promise<void> {
    for (const statement of INBOX_DDL) this.addSql(statement);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "inbox";');
  }
}
