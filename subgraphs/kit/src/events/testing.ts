/** Test helpers for event queues: isolated prefixes, feeding and watching queues, cleanup. */
import { randomBytes, randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { Queue, Worker, type Job } from 'bullmq';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventHandler } from './consumer';
import { eventQueueName, eventsOfJob, type EventEnvelope, type EventJobData } from './envelope';
import { bullConnection, createRedisClient } from './redis';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Applies one event the way the consumer does, without a queue: the handler in a transaction, then
 * its after-commit work once that committed. Unlike the consumer, a failure of that work is thrown.
 */
export async function applyEvent(em: EntityManager, handler: EventHandler, envelope: EventEnvelope): Promise<void> {
  const afterCommit: (() => Promise<void>)[] = [];
  await em.fork().transactional(async (tx) => {
    afterCommit.length = 0;
    await handler(tx, envelope, { afterCommit: (work) => afterCommit.push(work) });
  });
  for (const work of afterCommit) await work();
}

/** A BullMQ key prefix of its own, so parallel test files never share queues. */
/** An event as a relay would publish it: a new id, version 1, occurred at `occurredAt` (now). */
export const testEnvelope = (type: string, source: string, subject: string, data: Record<string, unknown>, occurredAt: Date | string = new Date()): EventEnvelope => ({
  id: randomUUID(),
  type,
  version: 1,
  occurredAt: new Date(occurredAt).toISOString(),
  source,
  subject,
  data,
});

export const testPrefix = (name: string): string => `test-${name}-${randomBytes(6).toString('hex')}`;

/** A handle on `events-<subgraph>` to feed or inspect it. */
export function eventQueue(subgraph: string, prefix: string): Queue<EventJobData> {
  const queue = new Queue<EventJobData>(eventQueueName(subgraph), { connection: bullConnection(REDIS_URL), prefix });
  queue.on('error', () => undefined);
  return queue;
}

/**
 * Stands in for a consuming subgraph (orders): a worker on its queue that keeps every envelope it
 * receives, so a test can wait for the one it expects (no polling, no sleeps).
 */
export class QueueWatcher {
  readonly received: EventEnvelope[] = [];
  private readonly waiters: { match: (event: EventEnvelope) => boolean; resolve: (event: EventEnvelope) => void }[] = [];
  readonly worker: Worker<EventJobData>;

  constructor(subgraph: string, prefix: string) {
    this.worker = new Worker<EventJobData>(
      eventQueueName(subgraph),
      async (job) => {
        for (const event of eventsOfJob(job.data) as EventEnvelope[]) {
          this.received.push(event);
          for (const waiter of [...this.waiters]) {
            if (waiter.match(event)) {
              this.waiters.splice(this.waiters.indexOf(waiter), 1);
              waiter.resolve(event);
            }
          }
        }
      },
      { connection: bullConnection(REDIS_URL, { maxRetriesPerRequest: null }), prefix },
    );
    this.worker.on('error', () => undefined);
  }

  next(match: (event: EventEnvelope) => boolean): Promise<EventEnvelope> {
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}

/** Resolves the first time `worker` emits `event` for the job with this id. Attach before the job can run. */
export function jobSettled(worker: Worker, event: 'completed' | 'failed', jobId: string): Promise<{ job: Job; result: unknown }> {
  const emitter = worker as unknown as EventEmitter;
  return new Promise((resolve) => {
    const listener = (job: Job | undefined, result: unknown) => {
      if (job?.id !== jobId) return;
      emitter.off(event, listener);
      resolve({ job, result });
    };
    emitter.on(event, listener);
  });
}

/** Resolves with how the job with this id first finished on `worker`: completed, or failed (an attempt). Attach before the job can run. */
export function jobEnded(worker: Worker, jobId: string): Promise<{ outcome: 'completed' | 'failed'; job: Job; result: unknown }> {
  const emitter = worker as unknown as EventEmitter;
  return new Promise((resolve) => {
    const on = (outcome: 'completed' | 'failed') => (job: Job | undefined, result: unknown) => {
      if (job?.id !== jobId) return;
      emitter.off('completed', completed);
      emitter.off('failed', failed);
      resolve({ outcome, job, result });
    };
    const completed = on('completed');
    const failed = on('failed');
    emitter.on('completed', completed);
    emitter.on('failed', failed);
  });
}

/** Removes the test's queues and every key under its prefix. */
export async function cleanupRedis(prefix: string, subgraphs: readonly string[]): Promise<void> {
  for (const subgraph of subgraphs) {
    const queue = eventQueue(subgraph, prefix);
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
