import type { Queue } from 'bullmq';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface EventMetrics {
  published: Counter<'source' | 'type' | 'queue'>;
  publishErrors: Counter<'source'>;
  consumed: Counter<'subgraph' | 'type'>;
  duplicates: Counter<'subgraph' | 'type'>;
  failed: Counter<'subgraph' | 'type'>;
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  // Several relays/consumers may share a registry: reuse a counter registered earlier.
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

/** Counters of the event machinery, registered on `registry` (idempotent per registry). */
export function eventMetrics(registry: Registry): EventMetrics {
  return {
    published: counter(registry, 'events_published_total', 'Domain events published to a consumer queue by the outbox relay', ['source', 'type', 'queue']),
    publishErrors: counter(registry, 'events_publish_errors_total', 'Outbox relay batches that failed and were left for the next attempt', ['source']),
    consumed: counter(registry, 'events_consumed_total', 'Domain events whose handler ran and committed', ['subgraph', 'type']),
    duplicates: counter(registry, 'events_duplicates_skipped_total', 'Redelivered domain events skipped because the inbox had them', ['subgraph', 'type']),
    failed: counter(registry, 'events_failed_total', 'Failed attempts of domain event handlers (each is retried until attempts run out)', ['subgraph', 'type']),
  };
}

/** The states a queue's depth is reported in: its backlog, work in hand, retries waiting, and the failed set. */
const DEPTH_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
/** A scrape does not wait longer than this for Redis. */
const DEPTH_TIMEOUT_MS = 1_000;

const depthQueues = new WeakMap<Registry, Set<Queue>>();

/**
 * Reports `queue`'s jobs per state as `events_queue_jobs{queue,state}`, read from Redis when the
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
      name: 'events_queue_jobs',
      help: 'Jobs in an event queue by state (waiting: the backlog; failed: events that ran out of attempts)',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        await Promise.all(
          [...tracked].map(async (each) => {
            let timer: NodeJS.Timeout | undefined;
            const timeout = new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error('timed out')), DEPTH_TIMEOUT_MS);
            });
            try {
              const counts = await Promise.race([each.getJobCounts(...DEPTH_STATES), timeout]);
              for (const state of DEPTH_STATES) this.set({ queue: each.name, state }, counts[state] ?? 0);
            } catch {
              // Redis is away: /ready reports it; this scrape has no figures for the queue.
            } finally {
              clearTimeout(timer);
            }
          }),
        );
      },
    });
  }
  queues.add(queue);
  return () => queues.delete(queue);
}
