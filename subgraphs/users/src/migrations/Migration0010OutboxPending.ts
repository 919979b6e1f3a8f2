import { AddOutboxPendingMigration } from '../../../kit/src/events/outbox-pending-migration';

export class Migration0010OutboxPending extends AddOutboxPendingMigration {}
