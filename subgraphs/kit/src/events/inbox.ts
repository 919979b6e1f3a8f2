import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** An event a consumer has applied; written in the same transaction as the handler's effect. */
@Entity({ tableName: 'inbox' })
export class InboxRecord {
  @PrimaryKey({ type: 'uuid' })
  eventId!: string;

  @Property({ type: 'string', length: 100 })
  type!: string;

  @Property({ type: 'string', length: 50 })
  source!: string;

  @Property({ type: 'datetime' })
  processedAt: Date = new Date();
}

/** DDL for the inbox table, for the first migration of each consuming subgraph. */
export const INBOX_DDL = [
  `create table "inbox" ("event_id" uuid not null, "type" varchar(100) not null, "source" varchar(50) not null, "processed_at" timestamptz not null default now(), constraint "inbox_pkey" primary key ("event_id"));`,
];
