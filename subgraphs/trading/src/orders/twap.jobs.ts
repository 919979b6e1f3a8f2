import { Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import type { Logger } from 'pino';
import { bullConnection, createErrorReporter, LazyQueue, type RedisTarget } from '../../../kit/src/events';
import { inJobSpan, traced, type TracedJobData, type Tracing } from '../../../kit/src/tracing';

/** Trading's own BullMQ queue (not an event queue): the delayed slices of TWAP orders. */
export const TWAP_QUEUE = 'trading-twap';
export const TWAP_SLICE_JOB = 'slice';

/** Carries the trace of the placement: each slice continues it. */
export interface TwapSliceJob extends TracedJobData {
  orderId: string;
  index: number;
}

export type TwapSliceResult = 'filled' | 'skipped';

const SLICE_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** Schedules TWAP slices; what the engine needs of the queue. */
export interface TwapScheduler {
  /** One delayed job per slice, job id `<orderId>-<index>` (BullMQ ids cannot hold ":"), so scheduling twice adds nothing. */
  schedule(orderId: string, slices: readonly { index: number; at: number }[]): Promise<void>;
  close(): Promise<void>;
}

/** The producer side; its Redis connection opens on first use (a process that never places a TWAP never connects). */
export class TwapQueue implements TwapScheduler {
  private readonly log: Logger;
  private readonly producer: LazyQueue<TwapSliceJob, TwapSliceResult>;

  constructor(options: { redis: RedisTarget; prefix?: string; log: Logger }) {
    this.log = options.log.child({ component: 'twap', queue: TWAP_QUEUE });
    this.producer = new LazyQueue<TwapSliceJob, TwapSliceResult>(TWAP_QUEUE, { redis: options.redis, prefix: options.prefix, log: this.log });
  }

  get queue(): Queue<TwapSliceJob, TwapSliceResult> {
    return this.producer.get();
  }

  async schedule(orderId: string, slices: readonly { index: number; at: number }[]): Promise<void> {
    const now = Date.now();
    await this.queue.addBulk(
      slices.map((slice) => ({
        name: TWAP_SLICE_JOB,
        data: traced({ orderId, index: slice.index }),
        opts: { ...SLICE_JOB_OPTIONS, jobId: `${orderId}-${slice.index}`, delay: Math.max(0, slice.at - now) },
      })),
    );
  }

  async close(): Promise<void> {
    await this.producer.close();
  }
}

/**
 * Runs TWAP slices. A slice is idempotent enough to retry: the order row is locked and a slice of an
 * order no longer live (filled, cancelled) does nothing.
 */
export function createTwapWorker(options: {
  redis: RedisTarget;
  prefix?: string;
  log: Logger;
  concurrency?: number;
  /** Each slice a CONSUMER span in the placement's trace; its fill's events carry it on. */
  tracing?: Tracing;
  run(orderId: string, index: number): Promise<TwapSliceResult>;
}): Worker<TwapSliceJob, TwapSliceResult> {
  const log = options.log.child({ component: 'twap', queue: TWAP_QUEUE });
  const worker = new Worker<TwapSliceJob, TwapSliceResult>(
    TWAP_QUEUE,
    async (job: Job<TwapSliceJob, TwapSliceResult>) => {
      const { orderId, index } = job.data;
      if (typeof orderId !== 'string' || !Number.isInteger(index)) throw new UnrecoverableError(`TWAP job ${job.id} is malformed`);
      return inJobSpan(
        options.tracing,
        'process TWAP slice',
        job,
        () => options.run(orderId, index),
        { attributes: { 'mercado.order.id': orderId, 'mercado.twap.slice': index }, outcome: (result) => ({ 'mercado.twap.outcome': result }) },
      );
    },
    { connection: bullConnection(options.redis, { maxRetriesPerRequest: null }), prefix: options.prefix, concurrency: options.concurrency ?? 10 },
  );
  const errors = createErrorReporter(log, {}, 'twap worker error');
  worker.on('error', (error) => errors.error(error));
  worker.on('ready', () => errors.recovered());
  worker.on('failed', (job, error) => log.warn({ err: error, jobId: job?.id, attemptsMade: job?.attemptsMade }, 'TWAP slice failed'));
  return worker;
}
