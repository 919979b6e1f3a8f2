import { Counter, type Registry } from 'prom-client';

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
