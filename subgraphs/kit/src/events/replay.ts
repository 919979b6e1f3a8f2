import { Queue } from 'bullmq';
import { eventQueueName, eventsOfJob, type EventEnvelope, type EventJobData } from './envelope';
import { bullConnection, type RedisTarget } from './redis';

/** An event whose job ran out of attempts (a batch job's failed events share its job id). */
export interface FailedEvent {
  jobId: string;
  envelope: EventEnvelope;
  failedReason: string;
  attemptsMade: number;
  /** ISO time of the last failure. */
  failedAt: string | null;
  stacktrace: string[];
}

export interface FailedQueryOptions {
  /** BullMQ key prefix. Default BullMQ's (`bull`). */
  prefix?: string;
  /** Most failed jobs read, oldest failure first. Default 100. */
  limit?: number;
}

async function withQueue<T>(redis: RedisTarget, subgraph: string, prefix: string | undefined, use: (queue: Queue<EventJobData>) => Promise<T>): Promise<T> {
  const queue = new Queue<EventJobData>(eventQueueName(subgraph), { connection: bullConnection(redis), prefix, skipMetasUpdate: true });
  queue.on('error', () => undefined); // surfaced through the rejected calls below
  try {
    return await use(queue);
  } finally {
    await queue.close();
  }
}

/** Events of `events-<subgraph>` whose jobs ran out of attempts, oldest failure first. */
export function listFailed(redis: RedisTarget, subgraph: string, options: FailedQueryOptions = {}): Promise<FailedEvent[]> {
  const limit = options.limit ?? 100;
  return withQueue(redis, subgraph, options.prefix, async (queue) => {
    const jobs = await queue.getJobs(['failed'], 0, limit - 1, true);
    return jobs
      .filter((job) => job !== undefined && job.id !== undefined)
      .flatMap((job) =>
        // A batch job that failed holds only its events that failed (see the consumer).
        eventsOfJob(job.data).map((envelope) => ({
          jobId: job.id!,
          envelope: envelope as EventEnvelope,
          failedReason: job.failedReason,
          attemptsMade: job.attemptsMade,
          failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
          stacktrace: job.stacktrace ?? [],
        })),
      );
  });
}

export interface ReplayOptions extends FailedQueryOptions {
  /** Give each replayed job its full attempts (and backoff) again. Default true. */
  resetAttempts?: boolean;
}

export interface ReplayResult {
  /** Job ids moved back to waiting. */
  replayed: string[];
  /** Jobs that could not be retried (e.g. removed or retried by someone else meanwhile). */
  errors: { jobId: string; error: string }[];
}

/** Moves up to `limit` failed jobs of `events-<subgraph>` back to waiting (oldest first), with `job.retry()`. */
export function replayFailed(redis: RedisTarget, subgraph: string, options: ReplayOptions = {}): Promise<ReplayResult> {
  const limit = options.limit ?? 100;
  const reset = options.resetAttempts ?? true;
  return withQueue(redis, subgraph, options.prefix, async (queue) => {
    const jobs = await queue.getJobs(['failed'], 0, limit - 1, true);
    const result: ReplayResult = { replayed: [], errors: [] };
    for (const job of jobs) {
      if (!job?.id) continue;
      try {
        await job.retry('failed', { resetAttemptsMade: reset, resetAttemptsStarted: reset });
        result.replayed.push(job.id);
      } catch (error) {
        result.errors.push({ jobId: job.id, error: error instanceof Error ? error.message : String(error) });
      }
    }
    return result;
  });
}
