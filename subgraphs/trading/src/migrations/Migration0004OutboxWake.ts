import { Migration } from '@mikro-orm/migrations';
import { OUTBOX_NOTIFY_DDL } from '../../../kit/src/events';

/**
 * No NOTIFY on outbox inserts: a transaction that notifies takes a database-wide lock through its
 * commit, so every order placement committed one after another (no group commit), and each one woke
 * the relay for a batch of its own. The engine wakes this process's relay after its commits instead
 * (server.ts); other replicas' relays poll.
 */
export class Migration0004OutboxWake extends Migration {
  override async up(): Promise<void> {
    this.addSql('drop trigger if exists "outbox_notify_insert" on "outbox";');
    this.addSql('drop function if exists "outbox_notify"();');
  }

  override async down(): Promise<void> {
    for (const statement of OUTBOX_NOTIFY_DDL) this.addSql(statement);
  }
}
