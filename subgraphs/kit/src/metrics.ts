import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ServerMetrics {
  registry: Registry;
  httpDuration: Histogram<'route' | 'status'>;
  operations: Counter<'operation' | 'outcome'>;
  /** Subscriptions open on the server's graphql-ws connections (a router sharing one upstream counts once). */
  subscriptions: Gauge;
}

/** One registry per server, so several servers in one process (tests) keep their own figures. */
export function createServerMetrics(service: string): ServerMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    operations: new Counter({
      name: 'graphql_operations_total',
      help: 'GraphQL operations by name and outcome',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    subscriptions: new Gauge({
      name: 'graphql_ws_subscriptions',
      help: 'Subscriptions open on graphql-ws connections',
      registers: [registry],
    }),
  };
}
