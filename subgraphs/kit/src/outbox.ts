import { randomUUID } from 'node:crypto';
import { Entity, PrimaryKey, Property } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { currentTraceparent } from './tracing';

/**
 * A domain event written in the same transaction as the state change it describes. Its indexes are
 * the migrations' (`OUTBOX_DDL`, `AddOutboxPendingMigration`): the relay claims through `outbox_pending`.
 */
@Entity({ tableName: 'outbox' })
export class OutboxEvent {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'string', length: 100 })
  type!: string;

  @Property({ type: 'integer' })
  version: number = 1;

  @Property({ type: 'datetime' })
  occurredAt: Date = new Date();

  @Property({ type: 'string', length: 50 })
  source!: string;

  @Property({ type: 'string', length: 200 })
  subject!: string;

  @Property({ type: 'json' })
  data!: Record<string, unknown>;

  @Property({ type: 'datetime', nullable: true })
  publishedAt: Date | null = null;

  /** The span that wrote the event (a request's, an event's): its consumers' spans continue that trace. */
  @Property({ type: 'string', length: 55, nullable: true })
  traceparent: string | null = null;
}

/** DDL for the outbox table, used by each subgraph's first migration. */
export const OUTBOX_DDL = [
  `create table "outbox" ("id" uuid not null, "type" varchar(100) not null, "version" int not null default 1, "occurred_at" timestamptz not null, "source" varchar(50) not null, "subject" varchar(200) not null, "data" jsonb not null, "published_at" timestamptz null, constraint "outbox_pkey" primary key ("id"));`,
  `create index "outbox_unpublished_idx" on "outbox" ("occurred_at") where "published_at" is null;`,
];

/** Queues an event on the entity manager; it is written when the surrounding unit of work flushes. */
export function recordEvent(em: EntityManager, source: string, type: string, subject: string, data: Record<string, unknown>): OutboxEvent {
  const event = em.create(OutboxEvent, { type, source, subject, data, version: 1, occurredAt: new Date(), publishedAt: null, traceparent: currentTraceparent() });
  em.persist(event);
  return event;
}

/** An event for `outboxInsertSql`: the row `recordEvent` writes, without the unit of work. */
export interface OutboxInsert {
  type: string;
  subject: string;
  data: object;
  /** Default: a new uuid. */
  id?: string;
  /** Default: now. */
  occurredAt?: Date;
}

/**
 * `insert into "outbox" … select … from (values …)` with its parameters (for `em.execute`), so a hot
 * path can write its events in the same statement as its state change (as a CTE) instead of a
 * unit-of-work flush. With `guard` (the name of a CTE of that statement returning one row), the
 * events are written only when the guard returns its row.
 */
export function outboxInsertSql(source: string, events: readonly OutboxInsert[], guard?: string): { sql: string; params: unknown[] } {
  if (events.length === 0) throw new Error('outboxInsertSql needs at least one event');
  const params: unknown[] = [];
  const rows = events.map((event) => {
    params.push(event.id ?? randomUUID(), event.type, event.occurredAt ?? new Date(), event.subject, JSON.stringify(event.data));
    return '(?::uuid, ?::varchar, ?::timestamptz, ?::varchar, ?::jsonb)';
  });
  const from = `${guard ? `"${guard}" cross join ` : ''}(values ${rows.join(', ')}) as "e"("id", "type", "occurred_at", "subject", "data")`;
  return {
    sql: `insert into "outbox" ("id", "type", "version", "occurred_at", "source", "subject", "data", "traceparent") select "e"."id", "e"."type", 1, "e"."occurred_at", ?, "e"."subject", "e"."data", ?::varchar from ${from}`,
    // `source` and the trace come first in the text: the select list precedes the values.
    params: [source, currentTraceparent(), ...params],
  };
}
