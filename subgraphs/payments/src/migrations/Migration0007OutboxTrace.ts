import { AddOutboxTraceparentMigration } from '../../../kit/src/events/outbox-trace-migration';

export class Migration0007OutboxTrace extends AddOutboxTraceparentMigration {}
