import type { IncomingHttpHeaders } from 'node:http';
import type { Attributes } from '@opentelemetry/api';
import { formatTraceparent, parseTraceparent } from '../../../subgraphs/kit/src/trace-context';
import type { ServerSpan, Tracing } from '../../../subgraphs/kit/src/tracing';
import { GRAPHQL_PATH } from './landing-page';
import type { HttpExchange, RequestTrace, RouterPlugin, SubgraphRequestEvent } from './types';

/**
 * The SERVER span of one graphql-ws operation, in the trace of the upgrade request's `traceparent`
 * (with its `tracestate`) or a new one. A query or mutation's span lasts until its result; a
 * subscription's until it is set up (a subscription lasts too long for one span: each event it
 * delivers is a span of its own under this one, see `eventSpan`).
 */
export function operationSpan(tracing: Tracing, headers: IncomingHttpHeaders, name: string, attributes: Attributes): { span: ServerSpan; trace: RequestTrace } {
  const parent = parseTraceparent(headers.traceparent);
  const span = tracing.startServerSpan(name, parent, attributes);
  const state = typeof headers.tracestate === 'string' && parent ? headers.tracestate : undefined;
  return { span, trace: { traceId: span.traceId, spanId: span.spanId, flags: span.flags, ...(state ? { state } : {}) } };
}

/** A CONSUMER span for one event a subscription delivers, under the operation's span; its subgraph fetches are its children. */
export function eventSpan(tracing: Tracing, operation: RequestTrace, name: string, attributes: Attributes): { span: ServerSpan; trace: RequestTrace } {
  const span = tracing.startConsumerSpan(name, { traceId: operation.traceId, parentId: operation.spanId, flags: operation.flags }, attributes);
  return { span, trace: { ...operation, spanId: span.spanId, flags: span.flags } };
}

/**
 * W3C Trace Context and OpenTelemetry: every HTTP operation joins the caller's trace or starts one,
 * as a SERVER span of the router (named after the operation, exported when `tracing` has an
 * endpoint). Each subgraph fetch is a CLIENT span under it (`POST catalog`: the wait for the
 * subgraph as the router saw it, network and queueing included), sent on as `traceparent` with the
 * `tracestate`, so a subgraph's spans are its children. The trace id is in the router's logs and
 * every subgraph's. The request id stays what support asks for; the trace id is what a tracing
 * system shares.
 */
export function traceContextPlugin(tracing: Tracing): RouterPlugin {
  const spans = new WeakMap<HttpExchange, { span: ServerSpan; trace: RequestTrace }>();
  const byTrace = new WeakMap<RequestTrace, ServerSpan>();
  const fetches = new WeakMap<SubgraphRequestEvent, ServerSpan>();
  return {
    name: 'trace-context',
    onRequest(exchange) {
      // Only GraphQL requests get a context; health checks and scrapes need no trace.
      if (exchange.path !== GRAPHQL_PATH) return;
      const { headers } = exchange.req;
      const parent = parseTraceparent(headers.traceparent);
      const span = tracing.startServerSpan(`${exchange.method} ${GRAPHQL_PATH}`, parent, { 'http.request.method': exchange.method, 'mercado.request_id': exchange.requestId });
      const state = typeof headers.tracestate === 'string' && parent ? headers.tracestate : undefined;
      const trace: RequestTrace = { traceId: span.traceId, spanId: span.spanId, flags: span.flags, ...(state ? { state } : {}) };
      spans.set(exchange, { span, trace });
      byTrace.set(trace, span);
    },
    onContext(context, exchange) {
      context.trace = spans.get(exchange)?.trace;
    },
    apollo: {
      async requestDidStart({ contextValue }) {
        const span = contextValue.trace ? byTrace.get(contextValue.trace) : undefined;
        if (!span) return;
        return {
          async didResolveOperation({ operation, operationName }) {
            const type = operation?.operation ?? 'query';
            span.setName(`${type} ${operationName ?? 'anonymous'}`);
            span.setAttributes({ 'graphql.operation.type': type, ...(operationName ? { 'graphql.operation.name': operationName } : {}) });
          },
          async didEncounterErrors({ errors }) {
            span.setAttributes({ 'graphql.errors': errors.length });
          },
        };
      },
    },
    onResponse(exchange) {
      spans.get(exchange)?.span.end({ statusCode: exchange.res.statusCode });
    },
    onSubgraphRequest(event) {
      const trace = event.context?.trace;
      if (!trace) return;
      const span = tracing.startClientSpan(`POST ${event.serviceName}`, { traceId: trace.traceId, parentId: trace.spanId, flags: trace.flags }, {
        'http.request.method': 'POST',
        'mercado.subgraph': event.serviceName,
        // A read that joined an identical one in flight sends nothing: the subgraph's span is in the other's trace.
        'mercado.deduplicated': event.deduplicated,
        ...(event.operationName ? { 'graphql.operation.name': event.operationName } : {}),
      });
      if (!event.deduplicated) {
        event.headers.set('traceparent', formatTraceparent(span.traceId, span.spanId, span.flags));
        if (trace.state) event.headers.set('tracestate', trace.state);
      }
      fetches.set(event, span);
    },
    onSubgraphResponse(event) {
      fetches.get(event)?.end({ statusCode: event.statusCode, error: event.outcome === 'unavailable' ? event.reason : undefined });
    },
    close: () => tracing.shutdown(),
  };
}
