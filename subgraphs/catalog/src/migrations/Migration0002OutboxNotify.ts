import { Migration } from '@mikro-orm/migrations';
import { OUTBOX_NOTIFY_DDL } from '../../../kit/src';

/** Wakes the outbox relay on every insert, so ProductChanged reaches consumers without waiting for a poll. */
export class Migration0002OutboxNotify extends Migration {
  override async up(): Promise<void> {
    for (const statement of OUTBOX_NOTIFY_DDL) this.addSql(statement);
  }
}
