import { Migration } from '@mikro-orm/migrations';
import { OUTBOX_NOTIFY_DDL } from './relay';

/**
 * Drops the outbox NOTIFY trigger. A transaction that notifies holds a lock shared by every
 * database of the cluster through its commit, so with the trigger every event-writing commit of
 * every subgraph ran one after another (no group commit). The relay of the writing process wakes
 * on commit instead (`wakeOnCommit`); other replicas' relays poll.
 */
export abstract class DropOutboxNotifyMigration extends Migration {
  override async up(): Promise<void> {
    this.addSql('drop trigger if exists "outbox_notify_insert" on "outbox";');
    this.addSql('drop function if exists "outbox_notify"();');
  }

  override async down(): Promise<void> {
    for (const statement of OUTBOX_NOTIFY_DDL) this.addSql(statement);
  }
}
