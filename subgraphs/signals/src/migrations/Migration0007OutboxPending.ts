import { AddOutboxPendingMigration } from '../../../kit/src/events/outbox-pending-migration';

export class Migration0007OutboxPending extends AddOutboxPendingMigration {}
