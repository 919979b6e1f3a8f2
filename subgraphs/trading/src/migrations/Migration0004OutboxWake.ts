import { DropOutboxNotifyMigration } from '../../../kit/src/events/outbox-notify-migration';

export class Migration0004OutboxWake extends DropOutboxNotifyMigration {}
