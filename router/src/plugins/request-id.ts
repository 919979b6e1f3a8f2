import { randomUUID } from 'node:crypto';
import type { RouterPlugin } from './types';

/** Accepted incoming ids: what tracing systems and load balancers produce, nothing that could split a header or a log line. */
const VALID_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * Every request gets an id: the caller's `x-request-id` when it is well-formed, otherwise a new
 * UUID. It is echoed in the response, put in the GraphQL context and logs, and forwarded to every
 * subgraph (the datasource sends `context.requestId`).
 */
export function requestIdPlugin(): RouterPlugin {
  return {
    name: 'request-id',
    onRequest(exchange) {
      const incoming = exchange.req.headers['x-request-id'];
      exchange.requestId = typeof incoming === 'string' && VALID_REQUEST_ID.test(incoming) ? incoming : randomUUID();
      exchange.res.setHeader('x-request-id', exchange.requestId);
    },
    onContext(context, exchange) {
      context.requestId = exchange.requestId;
    },
  };
}
