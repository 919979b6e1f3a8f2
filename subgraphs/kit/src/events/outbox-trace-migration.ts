import { Migration } from '@mikro-orm/migrations';

/** The outbox keeps the `traceparent` of the span that wrote each event, so its consumers continue the trace. */
export abstract class AddOutboxTraceparentMigration extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table "outbox" add column "traceparent" varchar(55) null;');
  }

  override async down(): Promise<void> {
    this.addSql('alter table "outbox" drop column if exists "traceparent";');
  }
}
