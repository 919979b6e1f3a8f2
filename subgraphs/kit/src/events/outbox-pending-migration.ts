import { Migration } from '@mikro-orm/migrations';

/**
 * The outbox's unpublished rows listed in a table of their own, `outbox_pending`, which the relay
 * claims from and empties as it publishes. Before, the relay claimed through a partial index of
 * `outbox` (`published_at is null`): publishing leaves a dead entry in it that only VACUUM removes,
 * every claim walks those from the oldest, and autovacuum reaches a table that keeps a week of
 * events only after a fifth of it changed (a claim took 1.8-2.6 ms past 300,000 published rows: at
 * 1,000 events/s, over 300 ms before autovacuum came). `outbox_pending` stays small, so autovacuum
 * visits it at every round. An insert trigger fills it, so every writer (the ORM, the subgraphs' SQL
 * functions) stays as it is; published rows stay in `outbox` for the retention period.
 *
 * The partial index stays for now: replicas still running the previous relay claim through it
 * while a rollout is under way (and publish rows still listed here, which the new relay sends again
 * and the consumers' inboxes skip). A later migration drops it once no such replica runs.
 */
export abstract class AddOutboxPendingMigration extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "outbox_pending" ("id" uuid not null, "occurred_at" timestamptz not null, constraint "outbox_pending_pkey" primary key ("id"));`);
    this.addSql(`create index "outbox_pending_order_idx" on "outbox_pending" ("occurred_at", "id");`);
    this.addSql(`create function "outbox_pending_add"() returns trigger language plpgsql as $$
      begin
        insert into "outbox_pending" ("id", "occurred_at") select "id", "occurred_at" from "outbox_inserted" where "published_at" is null;
        return null;
      end;
    $$;`);
    this.addSql(`create trigger "outbox_pending_add" after insert on "outbox" referencing new table as "outbox_inserted" for each statement execute function "outbox_pending_add"();`);
    this.addSql(`insert into "outbox_pending" ("id", "occurred_at") select "id", "occurred_at" from "outbox" where "published_at" is null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists "outbox_pending_add" on "outbox";`);
    this.addSql(`drop function if exists "outbox_pending_add"();`);
    this.addSql(`drop table if exists "outbox_pending";`);
  }
}
