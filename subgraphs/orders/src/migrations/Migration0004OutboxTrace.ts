import { AddOutboxTraceparentMigration } from '../../../kit/src/events/outbox-trace-migration';

export class Migration0004OutboxTrace extends AddOutboxTraceparentMigration {}
