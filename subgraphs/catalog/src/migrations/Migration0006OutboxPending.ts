import { AddOutboxPendingMigration } from '../../../kit/src/events/outbox-pending-migration';

export class Migration0006OutboxPending extends AddOutboxPendingMigration {}
