import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLFormattedError, ParseOptions, ValidationRule } from 'graphql';
import type { Logger } from 'pino';
import type { Viewer } from '../../../subgraphs/kit/src/auth';

/** One HTTP request as the router's plugins see it. */
export interface HttpExchange {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** The path without the query string. */
  path: string;
  /** The query string including its `?`, or ''. */
  search: string;
  /** Set by the request-id plugin before anything else runs. */
  requestId: string;
  /** A low-cardinality name for metrics, set by whoever answers the request. */
  route: string;
  /** `process.hrtime.bigint()` when the request arrived. */
  startedAt: bigint;
}

/** The W3C trace an operation is part of, and the router's span in it (see plugins/trace-context.ts). */
export interface RequestTrace {
  traceId: string;
  spanId: string;
  flags: string;
  /** The caller's `tracestate`, passed on unchanged. */
  state?: string;
}

/** The GraphQL context of one operation on the router. */
export interface RouterContext {
  requestId: string;
  /** Set before the logger is first used; subgraphs get it as `traceparent`. */
  trace?: RequestTrace;
  /** The verified caller, or null for an anonymous one. */
  viewer: Viewer | null;
  /** The incoming `Authorization` header, forwarded verbatim to subgraphs (they verify again). */
  authorization?: string;
  /** A logger bound to the request id (created on first use). */
  readonly log: Logger;
}

export type SubgraphOutcome = 'ok' | 'graphql_error' | 'unavailable';

/** A subgraph fetch, told to plugins before it is sent; the same object comes back as its response event. */
export interface SubgraphRequestEvent {
  serviceName: string;
  /** True when this read joined an identical one already in flight instead of sending its own. */
  deduplicated: boolean;
  context?: RouterContext;
  /** The operation the query plan sends (`Storefront__catalog__0`); null when anonymous. */
  operationName: string | null;
  /** The request's headers, which a plugin may set (a deduplicated read sends none of its own). */
  headers: { set(name: string, value: string): void };
}

export interface SubgraphResponseEvent extends SubgraphRequestEvent {
  outcome: SubgraphOutcome;
  durationSeconds: number;
  /** The HTTP status, when an answer came. */
  statusCode?: number;
  /** For `unavailable`: why (refused, timeout, HTTP status, invalid body). */
  reason?: string;
}

/**
 * One router behaviour (Hive Gateway style). Each hook is optional; the server calls the hooks of
 * every plugin in order, so a plugin owns its behaviour end to end: HTTP, GraphQL and subgraph fetches.
 */
export interface RouterPlugin {
  readonly name: string;
  /** Runs first for every HTTP request. Return true when the plugin answered the request itself. */
  onRequest?(exchange: HttpExchange): boolean | void | Promise<boolean | void>;
  /** Runs after the response was sent. */
  onResponse?(exchange: HttpExchange): void;
  /**
   * Fills the GraphQL context before execution (after CSRF checks). Throwing a GraphQLError with
   * `extensions.http.status` answers the request with that status.
   */
  onContext?(context: RouterContext, exchange: HttpExchange): void | Promise<void>;
  /** Apollo Server plugin for the operation lifecycle (landing page, error logging, metrics). */
  apollo?: ApolloServerPlugin<RouterContext>;
  /** Options of the parser, for every operation (HTTP and graphql-ws). */
  parseOptions?: ParseOptions;
  /** Validation rules run with the spec's on every new document (HTTP and graphql-ws). */
  validationRules?: ValidationRule[];
  /** Shapes every error a client sees. At most one plugin should set it. */
  formatError?(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  /** Before a subgraph fetch is sent (its headers may still change). */
  onSubgraphRequest?(event: SubgraphRequestEvent): void;
  /** Once it answered or failed: the request's event, completed. */
  onSubgraphResponse?(event: SubgraphResponseEvent): void;
  /** Releases what the plugin holds when the router closes. */
  close?(): Promise<void> | void;
}
