import type { IncomingHttpHeaders } from 'node:http';
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent } from '../../../subgraphs/kit/src/trace-context';
import { GRAPHQL_PATH } from './landing-page';
import type { HttpExchange, RequestTrace, RouterPlugin } from './types';

/**
 * The trace a request is part of: the caller's (`traceparent`, with its `tracestate`) or a new one,
 * and the router's own span in it.
 */
export function traceOfRequest(headers: IncomingHttpHeaders): RequestTrace {
  const incoming = parseTraceparent(headers.traceparent);
  const state = typeof headers.tracestate === 'string' && incoming ? headers.tracestate : undefined;
  return { traceId: incoming?.traceId ?? newTraceId(), spanId: newSpanId(), flags: incoming?.flags ?? '00', ...(state ? { state } : {}) };
}

/** The `traceparent` the router sends a subgraph for a request in `trace`. */
export const traceparentOf = (trace: RequestTrace): string => formatTraceparent(trace.traceId, trace.spanId, trace.flags);

/**
 * W3C Trace Context: every operation joins the caller's trace or starts one; its trace id is in the
 * router's logs and, through `traceparent` (the router's span as the parent) and `tracestate`, in
 * every subgraph's. The request id stays what support asks for; the trace id is what a tracing
 * system upstream or downstream of Mercado shares.
 */
export function traceContextPlugin(): RouterPlugin {
  const traces = new WeakMap<HttpExchange, RequestTrace>();
  return {
    name: 'trace-context',
    onRequest(exchange) {
      // Only GraphQL requests get a context; health checks and scrapes need no trace.
      if (exchange.path === GRAPHQL_PATH) traces.set(exchange, traceOfRequest(exchange.req.headers));
    },
    onContext(context, exchange) {
      context.trace = traces.get(exchange);
    },
  };
}
