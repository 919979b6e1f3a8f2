import { Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { MikroORM } from '../../../kit/src';
import { bullConnection, createErrorReporter, LazyQueue, type RedisTarget } from '../../../kit/src/events';
import type { ExpiryJobData, ExpiryScheduler, ReservationService, SettleResult } from './reservation.service';

/** Inventory's own BullMQ queue (not an event queue): delayed expiry jobs and the periodic sweep. */
export const RESERVATION_EXPIRY_QUEUE = 'inventory-reservation-expiry';
/** One per reservation; job id = reservation id, delay = the TTL. */
export const EXPIRE_JOB = 'expire';
/** Repeats every RESERVATION_SWEEP_SECONDS: expires HELD reservations past their expiry whose job never ran. */
export const SWEEP_JOB = 'sweep';
export const SWEEP_SCHEDULER_ID = 'reservation-expiry-sweep';
/** Reservations one sweep expires at most (the next sweep takes the rest). */
export const SWEEP_LIMIT = 500;

/** What an expire job did (its return value); a sweep returns how many it expired. */
export type ExpiryJobResult = SettleResult['outcome'] | { swept: number };
export type ExpiryJob = Job<Partial<ExpiryJobData>, ExpiryJobResult>;

const EXPIRE_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  // Kept for inspection; a failed expiry also stays HELD in the database, where the sweep retries it.
  removeOnFail: { age: 7 * 24 * 3600 },
};

export interface ExpiryQueueOptions {
  redis: RedisTarget;
  /** BullMQ key prefix (tests use a unique one). Default BullMQ's. */
  prefix?: string;
  log: Logger;
}

/**
 * The producer side of the expiry queue. Its Redis connection opens on first use, so a process
 * that never reserves (workers off, SDL printing) never connects. A command fails fast when Redis
 * is away (one retry, 5 s bound): scheduling happens inside the OrderPlaced transaction, which then
 * rolls back and the event is retried.
 */
export class ReservationExpiryQueue implements ExpiryScheduler {
  private readonly log: Logger;
  private readonly producer: LazyQueue<Partial<ExpiryJobData>, ExpiryJobResult>;

  constructor(options: ExpiryQueueOptions) {
    this.log = options.log.child({ component: 'reservation-expiry', queue: RESERVATION_EXPIRY_QUEUE });
    this.producer = new LazyQueue<Partial<ExpiryJobData>, ExpiryJobResult>(RESERVATION_EXPIRY_QUEUE, { redis: options.redis, prefix: options.prefix, log: this.log });
  }

  get queue(): Queue<Partial<ExpiryJobData>, ExpiryJobResult> {
    return this.producer.get();
  }

  /** Adds the delayed expire job; a job with this reservation id already there is left as it is. */
  async schedule(job: ExpiryJobData, delayMs: number): Promise<void> {
    await this.queue.add(EXPIRE_JOB, job, { ...EXPIRE_JOB_OPTIONS, jobId: job.reservationId, delay: delayMs });
  }

  /** Creates or updates the sweep's schedule (one per deployment, whatever the number of replicas); 0 removes it. */
  async scheduleSweep(everySeconds: number): Promise<void> {
    if (everySeconds <= 0) {
      await this.queue.removeJobScheduler(SWEEP_SCHEDULER_ID);
      return;
    }
    await this.queue.upsertJobScheduler(
      SWEEP_SCHEDULER_ID,
      { every: everySeconds * 1000 },
      { name: SWEEP_JOB, data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
  }

  async close(): Promise<void> {
    await this.producer.close();
  }
}

export interface ExpiryWorkerOptions {
  orm: MikroORM;
  service: ReservationService;
  redis: RedisTarget;
  prefix?: string;
  log: Logger;
  /** Jobs run at once. Default 5. */
  concurrency?: number;
}

/**
 * Runs expire jobs (and sweeps). Expiring is idempotent: the reservation row is locked and only a
 * HELD one is released, so a job that runs twice, or after the order was paid or cancelled,
 * changes nothing (`not-held`); a job whose reservation never committed finds nothing (`not-found`).
 */
export function createExpiryWorker(options: ExpiryWorkerOptions): Worker<Partial<ExpiryJobData>, ExpiryJobResult> {
  const { orm, service } = options;
  const log = options.log.child({ component: 'reservation-expiry', queue: RESERVATION_EXPIRY_QUEUE });

  async function run(job: ExpiryJob): Promise<ExpiryJobResult> {
    if (job.name === SWEEP_JOB) {
      const expired = await service.expireOverdue(orm.em, SWEEP_LIMIT);
      if (expired.length > 0) log.warn({ reservationIds: expired }, 'sweep expired reservations whose expiry job did not run');
      return { swept: expired.length };
    }
    const { reservationId } = job.data;
    if (typeof reservationId !== 'string' || reservationId === '') throw new UnrecoverableError(`expire job ${job.id} has no reservationId`);
    const result = await service.expire(orm.em.fork(), reservationId);
    if (result.outcome === 'expired') log.info({ reservationId, orderId: result.reservation.orderId }, 'reservation expired; stock released');
    else if (result.outcome === 'not-held') log.debug({ reservationId, status: result.reservation.status }, 'reservation no longer held; expiry skipped');
    else log.debug({ reservationId }, 'no such reservation (its transaction rolled back); expiry skipped');
    return result.outcome;
  }

  const worker = new Worker<Partial<ExpiryJobData>, ExpiryJobResult>(RESERVATION_EXPIRY_QUEUE, run, {
    connection: bullConnection(options.redis, { maxRetriesPerRequest: null }),
    prefix: options.prefix,
    concurrency: options.concurrency ?? 5,
  });
  const redisErrors = createErrorReporter(log, {}, 'expiry worker error');
  worker.on('error', (error) => redisErrors.error(error));
  worker.on('ready', () => redisErrors.recovered());
  worker.on('failed', (job, error) => {
    const final = !job || job.attemptsMade >= (job.opts.attempts ?? 1) || error instanceof UnrecoverableError;
    const context = { err: error, jobId: job?.id, name: job?.name, attemptsMade: job?.attemptsMade };
    if (final) log.error(context, 'reservation expiry job failed; left in the failed set (the sweep retries HELD reservations)');
    else log.warn(context, 'reservation expiry job failed; will retry');
  });
  return worker;
}
