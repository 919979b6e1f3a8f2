import type { GraphQLRequestListener } from '@apollo/server';
import { Counter, Histogram, type Registry } from 'prom-client';
import { createServerMetrics } from '../../../subgraphs/kit/src/metrics';
import type { RouterContext, RouterPlugin } from './types';

export interface MetricsPlugin extends RouterPlugin {
  registry: Registry;
}

const FETCH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Prometheus on `GET /metrics`: HTTP request duration by route and status, operations by type and
 * outcome, and per subgraph the fetch duration, errors and deduplicated reads. Labels stay
 * low-cardinality (no operation names from clients, no paths).
 */
export function metricsPlugin(): MetricsPlugin {
  const { registry, httpDuration, operations } = createServerMetrics('router');
  const fetchDuration = new Histogram({
    name: 'subgraph_fetch_duration_seconds',
    help: 'Duration of subgraph fetches by subgraph and outcome (ok, graphql_error, unavailable)',
    labelNames: ['subgraph', 'outcome'],
    buckets: FETCH_BUCKETS,
    registers: [registry],
  });
  const fetchErrors = new Counter({
    name: 'subgraph_fetch_errors_total',
    help: 'Subgraph fetches that failed (unavailable) or returned GraphQL errors',
    labelNames: ['subgraph', 'outcome'],
    registers: [registry],
  });
  const deduplicated = new Counter({
    name: 'subgraph_fetch_deduplicated_total',
    help: 'Subgraph reads served by an identical read already in flight',
    labelNames: ['subgraph'],
    registers: [registry],
  });

  const listener: GraphQLRequestListener<RouterContext> = {
    async willSendResponse({ response, operation }) {
      const failed = response.body.kind === 'single' && (response.body.singleResult.errors?.length ?? 0) > 0;
      operations.inc({ operation: operation?.operation ?? 'unknown', outcome: failed ? 'error' : 'ok' });
    },
  };

  return {
    name: 'metrics',
    registry,
    onRequest(exchange) {
      if (exchange.path !== '/metrics' || exchange.method !== 'GET') return false;
      exchange.route = 'metrics';
      return registry.metrics().then((text) => {
        exchange.res.writeHead(200, { 'content-type': registry.contentType });
        exchange.res.end(text);
        return true;
      });
    },
    onResponse(exchange) {
      httpDuration.observe({ route: exchange.route, status: String(exchange.res.statusCode) }, Number(process.hrtime.bigint() - exchange.startedAt) / 1e9);
    },
    apollo: {
      async requestDidStart() {
        return listener;
      },
    },
    onSubgraphResponse(event) {
      if (event.deduplicated) deduplicated.inc({ subgraph: event.serviceName });
      else fetchDuration.observe({ subgraph: event.serviceName, outcome: event.outcome }, event.durationSeconds);
      if (event.outcome !== 'ok') fetchErrors.inc({ subgraph: event.serviceName, outcome: event.outcome });
    },
  };
}
