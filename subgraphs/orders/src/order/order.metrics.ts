import { Counter, Histogram, type Registry } from 'prom-client';

/** Saga outcome figures. Created unregistered, so the schema can be built before the server's registry exists. */
export interface SagaMetrics {
  /** Orders paid (the saga reached PAID). */
  completed: Counter<string>;
  /** Orders cancelled before payment, by cancel reason. */
  compensated: Counter<'reason'>;
  /** Payments that succeeded for an order already cancelled: refunds due. */
  latePayments: Counter<string>;
  /** Seconds from checkout to PAID (`outcome="completed"`) or CANCELLED (`outcome="compensated"`). */
  duration: Histogram<'outcome'>;
}

export function createSagaMetrics(): SagaMetrics {
  return {
    completed: new Counter({ name: 'orders_saga_completed_total', help: 'Orders whose checkout saga ended paid', registers: [] }),
    compensated: new Counter({
      name: 'orders_saga_compensated_total',
      help: 'Orders whose checkout saga ended cancelled, by reason',
      labelNames: ['reason'],
      registers: [],
    }),
    latePayments: new Counter({
      name: 'orders_saga_late_payments_total',
      help: 'Payments that succeeded after their order was cancelled (to be refunded)',
      registers: [],
    }),
    duration: new Histogram({
      name: 'orders_saga_duration_seconds',
      help: 'Time from checkout to PAID or CANCELLED',
      labelNames: ['outcome'],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 1800, 3600],
      registers: [],
    }),
  };
}

/** Adds the saga metrics to a registry, e.g. the subgraph server's (`server.metrics.registry`). */
export function registerSagaMetrics(registry: Registry, metrics: SagaMetrics): void {
  registry.registerMetric(metrics.completed);
  registry.registerMetric(metrics.compensated);
  registry.registerMetric(metrics.latePayments);
  registry.registerMetric(metrics.duration);
}

const secondsSince = (start: Date, end: Date): number => Math.max(0, (end.getTime() - start.getTime()) / 1000);

export function observeCompleted(metrics: SagaMetrics | undefined, createdAt: Date, at: Date): void {
  if (!metrics) return;
  metrics.completed.inc();
  metrics.duration.observe({ outcome: 'completed' }, secondsSince(createdAt, at));
}

export function observeCompensated(metrics: SagaMetrics | undefined, reason: string, createdAt: Date, at: Date): void {
  if (!metrics) return;
  metrics.compensated.inc({ reason });
  metrics.duration.observe({ outcome: 'compensated' }, secondsSince(createdAt, at));
}
