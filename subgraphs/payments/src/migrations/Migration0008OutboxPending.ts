import { AddOutboxPendingMigration } from '../../../kit/src/events/outbox-pending-migration';

export class Migration0008OutboxPending extends AddOutboxPendingMigration {}
