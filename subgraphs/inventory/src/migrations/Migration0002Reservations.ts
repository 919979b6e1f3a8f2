import { Migration } from '@mikro-orm/migrations';
import { INBOX_DDL, OUTBOX_NOTIFY_DDL } from '../../../kit/src';

/**
 * Reservations for the order saga: the `reservation` table (one per order), the ledger's
 * reservation columns, the inbox of consumed events and the outbox NOTIFY trigger for the relay.
 */
export class Migration0002Reservations extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "reservation" (
      "id" uuid not null,
      "order_id" varchar(100) not null,
      "user_id" varchar(100) not null,
      "status" varchar(20) not null,
      "lines" jsonb not null default '[]',
      "expires_at" timestamptz not null,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "reservation_pkey" primary key ("id"),
      constraint "reservation_order_id_unique" unique ("order_id"),
      constraint "reservation_status_check" check ("status" in ('HELD', 'COMMITTED', 'RELEASED', 'EXPIRED')),
      constraint "reservation_lines_check" check (jsonb_typeof("lines") = 'array')
    );`);
    // The sweep looks for HELD reservations past their expiry.
    this.addSql(`create index "reservation_held_expires_at_index" on "reservation" ("expires_at") where "status" = 'HELD';`);

    // The ledger also records changes of `reserved`: a reservation line moves reserved, not on_hand.
    // Before this migration nothing was ever reserved, so 0 is the true reserved_after of old rows.
    this.addSql(`alter table "stock_movement"
      add column "reserved_delta" int not null default 0,
      add column "reserved_after" int not null default 0,
      add column "reservation_id" uuid null;`);
    this.addSql(`alter table "stock_movement" drop constraint "stock_movement_delta_check";`);
    this.addSql(`alter table "stock_movement"
      add constraint "stock_movement_delta_check" check ("delta" <> 0 or "reserved_delta" <> 0),
      add constraint "stock_movement_reserved_after_check" check ("reserved_after" >= 0 and "on_hand_after" >= "reserved_after");`);
    this.addSql(`create index "stock_movement_reservation_id_index" on "stock_movement" ("reservation_id") where "reservation_id" is not null;`);

    for (const statement of [...OUTBOX_NOTIFY_DDL, ...INBOX_DDL]) this.addSql(statement);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "inbox";');
    this.addSql('drop trigger if exists "outbox_notify_insert" on "outbox";');
    this.addSql('drop function if exists "outbox_notify"();');
    this.addSql('drop index if exists "stock_movement_reservation_id_index";');
    this.addSql('delete from "stock_movement" where "delta" = 0;');
    this.addSql(`alter table "stock_movement"
      drop constraint "stock_movement_reserved_after_check",
      drop constraint "stock_movement_delta_check",
      drop column "reservation_id",
      drop column "reserved_after",
      drop column "reserved_delta";`);
    this.addSql(`alter table "stock_movement" add constraint "stock_movement_delta_check" check ("delta" <> 0);`);
    this.addSql('drop table if exists "reservation";');
  }
}
