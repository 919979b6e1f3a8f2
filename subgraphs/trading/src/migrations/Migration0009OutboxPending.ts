import { AddOutboxPendingMigration } from '../../../kit/src/events/outbox-pending-migration';

export class Migration0009OutboxPending extends AddOutboxPendingMigration {}
