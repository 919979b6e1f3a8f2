import { Queue, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { MikroORM } from '../../../kit/src';
import { bullConnection, createErrorReporter, LazyQueue, type RedisTarget } from '../../../kit/src/events';
import type { SnapshotService } from './snapshot.service';

/** Portfolio's own BullMQ queue (not an event queue): the repeating snapshot job. */
export const SNAPSHOT_QUEUE = 'portfolio-snapshots';
export const SNAPSHOT_JOB = 'snapshot';
/** One schedule per deployment, whatever the number of replicas. */
export const SNAPSHOT_SCHEDULER_ID = 'portfolio-value-snapshot';

/** The snapshot time of a run: the start of its period, so every run of one period writes the same rows (and the key keeps one). */
export const snapshotTimeOf = (now: number, intervalSeconds: number): Date => {
  const period = intervalSeconds * 1000;
  return new Date(Math.floor(now / period) * period);
};

export interface SnapshotJobsOptions {
  orm: MikroORM;
  service: SnapshotService;
  redis: RedisTarget;
  /** BullMQ key prefix (tests use a unique one). Default BullMQ's. */
  prefix?: string;
  log: Logger;
  intervalSeconds: number;
}

/**
 * The periodic value snapshot: a BullMQ job scheduler repeats a job every `intervalSeconds`, one
 * worker per replica takes it. The job's period (its start time) is the snapshot time and the
 * snapshot key (portfolio, time) the guard, so a period run twice writes its rows once.
 */
export class SnapshotJobs {
  private worker: Worker<Record<string, never>, { written: number }> | undefined;
  private readonly log: Logger;
  private readonly producer: LazyQueue;

  constructor(private readonly options: SnapshotJobsOptions) {
    this.log = options.log.child({ component: 'snapshots', queue: SNAPSHOT_QUEUE });
    this.producer = new LazyQueue(SNAPSHOT_QUEUE, { redis: options.redis, prefix: options.prefix, log: this.log });
  }

  get queue(): Queue {
    return this.producer.get();
  }

  /** Starts the worker and creates or updates the schedule (0 seconds removes it). */
  async start(): Promise<void> {
    const { intervalSeconds } = this.options;
    if (intervalSeconds <= 0) {
      await this.queue.removeJobScheduler(SNAPSHOT_SCHEDULER_ID);
      return;
    }
    this.worker = new Worker(SNAPSHOT_QUEUE, (job) => this.run(job), {
      connection: bullConnection(this.options.redis, { maxRetriesPerRequest: null }),
      prefix: this.options.prefix,
      concurrency: 1,
    });
    const errors = createErrorReporter(this.log, {}, 'snapshot worker error');
    this.worker.on('error', (error) => errors.error(error));
    this.worker.on('ready', () => errors.recovered());
    this.worker.on('failed', (job, error) => this.log.error({ err: error, jobId: job?.id }, 'snapshot job failed; the next period takes a new one'));
    await this.queue.upsertJobScheduler(
      SNAPSHOT_SCHEDULER_ID,
      { every: intervalSeconds * 1000 },
      { name: SNAPSHOT_JOB, data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
  }

  private async run(job: Job): Promise<{ written: number }> {
    // The time it was scheduled for, not when a busy worker got to it.
    const takenAt = snapshotTimeOf(job.opts.prevMillis ?? job.processedOn ?? Date.now(), this.options.intervalSeconds);
    const written = await this.options.service.takeSnapshots(this.options.orm.em.fork(), takenAt);
    this.log.debug({ takenAt, written }, 'portfolio snapshots taken');
    return { written };
  }

  /** The worker, for tests to watch its jobs; undefined before start(). */
  get running(): Worker | undefined {
    return this.worker;
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.producer.close();
  }
}
