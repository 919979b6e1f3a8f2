import { randomBytes, randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { Entity, PrimaryKey, Property } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import { Queue, type Job, type JobsOptions, type Worker } from 'bullmq';
import { createLogger } from '../../src/logger';
import { AddOutboxPendingMigration } from '../../src/events/outbox-pending-migration';
import { AddOutboxTraceparentMigration } from '../../src/events/outbox-trace-migration';
import { OUTBOX_DDL, OutboxEvent, recordEvent } from '../../src/outbox';
import { openOrm, type MikroORM } from '../../src/orm';
import { testDatabaseUrl } from '../../src/testing';
import {
  batchJobId,
  bullConnection,
  createEventConsumer,
  createOutboxRelay,
  createRedisClient,
  EVENT_BATCH_JOB,
  eventQueueName,
  INBOX_DDL,
  InboxRecord,
  type EventConsumer,
  type EventEnvelope,
  type EventJobData,
  type OutboxRelay,
  type OutboxRelayOptions,
} from '../../src/events';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A state change that produces events. */
@Entity({ tableName: 'widget' })
export class Widget {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'string', length: 100 })
  name!: string;
}

/** The effect a test handler applies; deliberately not unique per event, so a second application would show. */
@Entity({ tableName: 'applied' })
export class Applied {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  eventId!: string;

  @Property({ type: 'string', length: 100 })
  type!: string;
}

export class EventsTestInit extends Migration {
  override async up(): Promise<void> {
    for (const sql of [...OUTBOX_DDL, ...INBOX_DDL]) this.addSql(sql);
    this.addSql('create table "widget" ("id" uuid primary key, "name" varchar(100) not null);');
    this.addSql('create table "applied" ("id" uuid primary key, "event_id" uuid not null, "type" varchar(100) not null);');
  }
}

class EventsTestOutboxTrace extends AddOutboxTraceparentMigration {}

class EventsTestOutboxPending extends AddOutboxPendingMigration {}

export function openTestOrm(databaseUrl: string): Promise<MikroORM> {
  return openOrm({
    databaseUrl,
    entities: [OutboxEvent, InboxRecord, Widget, Applied],
    migrations: [
      { name: 'EventsTestInit', class: EventsTestInit },
      { name: 'EventsTestOutboxTrace', class: EventsTestOutboxTrace },
      { name: 'EventsTestOutboxPending', class: EventsTestOutboxPending },
    ],
  });
}

/** A BullMQ key prefix of its own, so parallel test files never share queues. */
export function testPrefix(): string {
  return `test-${randomBytes(6).toString('hex')}`;
}

/** A queue handle for inspecting or feeding `events-<subgraph>` from a test. */
export function testQueue(subgraph: string, prefix: string): Queue<EventJobData> {
  const queue = new Queue<EventJobData>(eventQueueName(subgraph), { connection: bullConnection(REDIS_URL), prefix });
  queue.on('error', () => undefined);
  return queue;
}

/** Obliterates the test queues, then removes any key left under the prefix. */
export async function cleanupRedis(prefix: string, subgraphs: readonly string[]): Promise<void> {
  for (const subgraph of subgraphs) {
    const queue = testQueue(subgraph, prefix);
    try {
      await queue.obliterate({ force: true });
    } finally {
      await queue.close();
    }
  }
  const redis = createRedisClient(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

type JobEvent = 'completed' | 'failed';

/**
 * Resolves with the job (and its result or error) the first time the worker emits `event` for a
 * job matching `match` (a job id or a predicate). Attach it before the job can run.
 */
export function nextJobEvent(worker: Worker, event: JobEvent, match: string | ((job: Job) => boolean)): Promise<{ job: Job; result: unknown }> {
  const emitter = worker as unknown as EventEmitter;
  const accept = typeof match === 'string' ? (job: Job) => job.id === match : match;
  return new Promise((resolve) => {
    const listener = (job: Job | undefined, result: unknown) => {
      if (!job || !accept(job)) return;
      emitter.off(event, listener);
      resolve({ job, result });
    };
    emitter.on(event, listener);
  });
}

/** Adds `events` as one batch job, named and keyed as the relay does; answers its job id. */
export async function addBatchJob(queue: Queue<EventJobData>, events: EventEnvelope[], jobOptions: (jobId: string) => JobsOptions): Promise<string> {
  const jobId = batchJobId(events);
  await queue.add(EVENT_BATCH_JOB, { events }, jobOptions(jobId));
  return jobId;
}

/** `addBatchJob`, then the job's result once `worker` completed it. */
export async function completeBatchJob(worker: Worker, queue: Queue<EventJobData>, events: EventEnvelope[], jobOptions: (jobId: string) => JobsOptions): Promise<unknown> {
  const done = nextJobEvent(worker, 'completed', batchJobId(events));
  await addBatchJob(queue, events, jobOptions);
  return (await done).result;
}

export function envelope(type: string, data: Record<string, unknown> = {}, source = 'test'): EventEnvelope {
  return { id: randomUUID(), type, version: 1, occurredAt: new Date().toISOString(), source, subject: randomUUID(), data };
}

/** orders' relay publishing OrderPlaced to inventory's consumer, on one test database and prefix. */
export interface OrdersToInventory {
  orm: MikroORM;
  relay: OutboxRelay;
  consumer: EventConsumer;
  /** Every envelope the consumer's handler applied, in order. */
  received: EventEnvelope[];
  /** Commits a widget and its OrderPlaced event. */
  placeOrder(name: string): Promise<OutboxEvent>;
  close(): Promise<void>;
}

/**
 * The relay is created, not started, with a poll far longer than any test's timeout: only the wake
 * path under test can deliver in time.
 */
export async function startOrdersToInventory(databaseName: string, relayOptions: Partial<OutboxRelayOptions> = {}): Promise<OrdersToInventory> {
  const database = testDatabaseUrl(databaseName);
  const prefix = testPrefix();
  const log = createLogger(databaseName, 'silent');
  const orm = await openTestOrm(database.url);
  const received: EventEnvelope[] = [];
  const consumer = createEventConsumer({
    orm,
    redis: REDIS_URL,
    subgraph: 'inventory',
    log,
    prefix,
    handlers: {
      OrderPlaced: async (em, event) => {
        received.push(event);
        em.create(Applied, { eventId: event.id, type: event.type });
      },
    },
  });
  await consumer.ready();
  const relay = createOutboxRelay({ orm, redis: REDIS_URL, source: 'orders', log, prefix, pollIntervalMs: 60_000, ...relayOptions });
  return {
    orm,
    relay,
    consumer,
    received,
    placeOrder: (name) =>
      orm.em.fork().transactional(async (em) => {
        const widget = em.create(Widget, { name });
        return recordEvent(em, 'orders', 'OrderPlaced', widget.id, { name });
      }),
    async close() {
      await relay.stop();
      await consumer.close();
      await cleanupRedis(prefix, ['inventory']);
      await orm.close(true);
      await database.drop();
    },
  };
}
