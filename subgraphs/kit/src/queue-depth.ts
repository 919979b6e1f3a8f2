import type { Queue } from 'bullmq';
import { Gauge, type Registry } from 'prom-client';
import { withTimeout } from './timeout';

/** The states a queue's depth is reported in: its backlog (prioritized jobs wait apart), work in hand, retries waiting, and the failed set. */
const DEPTH_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;
/** A scrape does not wait longer than this for Redis. */
const DEPTH_TIMEOUT_MS = 1_000;

const depthQueues = new WeakMap<Registry, Set<Queue>>();

/**
 * Reports `queue`'s jobs per state as `bullmq_queue_jobs{queue,state}`, read from Redis when the
 * registry is scraped (what queue-depth autoscaling and a failed-set alert read). When Redis does
 * not answer in time the queue's figures are left out of that scrape rather than shown stale.
 * Returns a function that stops reporting it.
 */
export function reportQueueDepth(registry: Registry, queue: Queue): () => void {
  let queues = depthQueues.get(registry);
  if (!queues) {
    const tracked = new Set<Queue>();
    queues = tracked;
    depthQueues.set(registry, tracked);
    new Gauge({
      name: 'bullmq_queue_jobs',
      help: 'Jobs in a BullMQ queue by state (waiting and prioritized: the backlog; failed: jobs that ran out of attempts)',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        await Promise.all(
          [...tracked].map(async (each) => {
            try {
              const counts = await withTimeout(each.getJobCounts(...DEPTH_STATES), DEPTH_TIMEOUT_MS);
              for (const state of DEPTH_STATES) this.set({ queue: each.name, state }, counts[state] ?? 0);
            } catch {
              // Redis is away: /ready reports it; this scrape has no figures for the queue.
            }
          }),
        );
      },
    });
  }
  queues.add(queue);
  return () => queues.delete(queue);
}
