import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServiceMap } from '@apollo/gateway';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ParseOptions,
  type ValidationRule,
} from 'graphql';
import { CloseCode } from 'graphql-ws';
import { decodeJwt } from 'jose';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';
import { viewerFromHeader, type TokenVerifier, type Viewer } from '../../../subgraphs/kit/src/auth';
import { AppError, isExpectedError } from '../../../subgraphs/kit/src/errors';
import type { ServerSpan, Tracing } from '../../../subgraphs/kit/src/tracing';
import type { RouterConfig } from '../config';
import type { ApiKeyExchange } from '../plugins/api-keys';
import type { TrustedDocuments } from '../plugins/persisted-queries';
import type { CallerLimit } from '../plugins/rate-limit';
import { eventSpan, operationSpan } from '../plugins/trace-context';
import type { RequestTrace, RouterContext } from '../plugins/types';
import { executeEvent, type EventExecution, type UpstreamEvent } from './execute';
import { SubscriptionHub } from './fanout';
import { SubscriptionPlanner } from './planner';
import { feedKey, stableStringify, UpstreamPool, type FeedSpec } from './upstream';

export type SubscriptionConfig = Pick<
  RouterConfig,
  | 'env'
  | 'subgraphTimeoutMs'
  | 'bodyLimitBytes'
  | 'subscriptionInitTimeoutMs'
  | 'subscriptionKeepAliveMs'
  | 'subscriptionMaxPerConnection'
  | 'subscriptionReconnectMaxMs'
  | 'subscriptionSharedFields'
>;

/** The supergraph the gateway serves now. */
export interface ServedSupergraph {
  sdl: string;
  apiSchema: GraphQLSchema;
}

export interface SubscriptionServerOptions {
  config: SubscriptionConfig;
  log: Logger;
  verifyToken: TokenVerifier;
  /** Trades the API key a partner connects with; without it keys are refused. */
  apiKeys?: ApiKeyExchange;
  /** Counts every operation of a signed-in caller against its rate limit. */
  limitCaller?: CallerLimit;
  /** The manifest: what an operation names by hash, and who may run only its operations. */
  documents?: TrustedDocuments;
  /** The router's parser options and extra validation rules (operation limits), as Apollo Server applies them over HTTP. */
  parseOptions?: ParseOptions;
  validationRules?: readonly ValidationRule[];
  /** Upgrade requests on other paths are refused. */
  path: string;
  /** The current supergraph (null before the first load); read at every subscribe, so reloads apply to new subscriptions. */
  supergraph(): ServedSupergraph | null;
  /** The gateway's current subgraph clients, which fetch the rest of each event's plan. */
  dataSources(): ServiceMap;
  /** The HTTP URL the router sends a subgraph's operations to (overrides applied); its graphql-ws endpoint is the same URL. */
  subgraphUrl(serviceName: string): string | undefined;
  /** Shapes every error a client sees (the router's error masking). */
  formatError?(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  /** Runs a query or mutation a client sends over the socket; without it they are refused. */
  executeOperation?(
    request: { query: string; variables?: Record<string, unknown>; operationName?: string; extensions?: Record<string, unknown> },
    context: RouterContext,
  ): Promise<FormattedExecutionResult>;
  /** Gauges of clients, subscriptions and upstream subscriptions go here. */
  metrics?: Registry;
  /** Each operation's span, and each event's a subscription delivers (the router's tracing, shared with HTTP). */
  tracing: Tracing;
}

export interface SubscriptionStats {
  /** Open client sockets. */
  connections: number;
  /** Client subscriptions being served. */
  subscriptions: number;
  /** Subscriptions the router holds on subgraphs, and the graphql-ws connections carrying them. */
  upstream: { subscriptions: number; connections: number };
}

export interface SubscriptionServerEvents {
  /** An operation on a client socket started (its first result may not have been sent yet). */
  started: [];
  /** An operation on a client socket is over (completed, failed, unsubscribed or disconnected). */
  completed: [];
}

export interface SubscriptionServer {
  events: EventEmitter<SubscriptionServerEvents>;
  /** For the http server's `upgrade` event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  stats(): SubscriptionStats;
  /** Completes every client subscription, closes upstream subscriptions, then the client sockets (1001). */
  close(): Promise<void>;
}

/** What a connection knows about its client once `connection_init` was accepted. */
type ConnectionInfo = {
  viewer?: Viewer | null;
  authorization?: string;
  /** The partner's key, traded again (from the cache) for each operation: a revoked key starts nothing new, and tokens stay fresh. */
  apiKey?: string;
  requestId?: string;
};

/** The contextValue of one operation on a socket. */
interface OperationValue {
  router: SocketContext;
  planner: SubscriptionPlanner;
  source: string;
  /** The manifest operation the client named, if any (a query or mutation carries it on to Apollo Server). */
  persistedId: string | undefined;
  /** The operation's graphql-ws id and the client's socket: shared results are written to it directly. */
  id: string;
  socket: WebSocket;
  /** Ends when a query or mutation has its result, or a subscription is set up. */
  span: ServerSpan;
  /** The operation's name as its spans give it (the document's when the client named none). */
  spanName: string | undefined;
}

class SocketContext implements RouterContext {
  private logger?: Logger;

  constructor(
    readonly requestId: string,
    readonly viewer: Viewer | null,
    readonly authorization: string | undefined,
    private readonly baseLog: Logger,
    private readonly operationId: string,
    /** The operation's span (see operationSpan), or the span of one event a subscription delivers. */
    readonly trace: RequestTrace,
  ) {}

  /** The same caller and operation in another span: an event's fetches are children of the event's span. */
  inTrace(trace: RequestTrace): SocketContext {
    return new SocketContext(this.requestId, this.viewer, this.authorization, this.baseLog, this.operationId, trace);
  }

  get log(): Logger {
    return (this.logger ??= this.baseLog.child({ requestId: this.requestId, operationId: this.operationId, traceId: this.trace.traceId }));
  }
}

/** As the request-id plugin accepts them. */
const VALID_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
/** How long close() waits for clients' `complete` messages to be written before closing their sockets anyway. */
const CLOSE_GRACE_MS = 5_000;
/** Errors of a write to a client that has gone away: nothing to fix on the router's side. */
const CLIENT_GONE = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

function withCode(error: GraphQLError, code: string, hideSuggestions = false): GraphQLError {
  // As Apollo Server's hideSchemaDetailsFromClientErrors does over HTTP.
  const message = hideSuggestions ? error.message.replace(/ Did you mean(.+?)\?$/, '') : error.message;
  return new GraphQLError(message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { ...error.extensions, code } });
}

function asGraphQLError(error: unknown): GraphQLError {
  return error instanceof GraphQLError ? error : new GraphQLError('Internal server error', { originalError: error as Error });
}

function pick(values: Record<string, unknown>, names: readonly string[] | undefined): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of names ?? []) if (values[name] !== undefined) picked[name] = values[name];
  return picked;
}

const toWebSocketUrl = (url: string): string => url.replace(/^http(s?):/, 'ws$1:');

/** Close code 1013 (RFC 6455's "try again later"). */
const TRY_AGAIN_LATER = 1013;

/** setTimeout's longest delay; access tokens live far less. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * Closes the socket with 4401 when its (verified) bearer token expires: a socket is not a way to
 * outlive a token, whose user may since have lost a role or deleted the account. The client
 * reconnects with a fresh token.
 */
function closeWhenExpired(socket: WebSocket, authorization: string): void {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization.trim())?.[1];
  const exp = token ? decodeJwt(token).exp : undefined;
  if (typeof exp !== 'number') return;
  const timer = setTimeout(
    () => socket.close(CloseCode.Unauthorized, 'Unauthorized: the access token expired; reconnect with a fresh one'),
    Math.min(LONGEST_TIMER_MS, Math.max(0, exp * 1000 - Date.now())),
  );
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** The API key a client connects with: `connectionParams.apiKey` (browsers cannot set headers) or the upgrade's `x-api-key`. */
function apiKeyOf(params: Record<string, unknown>, headers: IncomingMessage['headers']): unknown {
  return params.apiKey ?? params['x-api-key'] ?? headers['x-api-key'];
}

/**
 * graphql-ws on the router's `/graphql` (same port as HTTP). Clients authenticate in
 * `connectionParams.authorization` (`Bearer <jwt>`, verified like the HTTP header; none is an
 * anonymous client, a bad one closes the socket with 4401), partners with an API key
 * (`connectionParams.apiKey` or the upgrade's `x-api-key`; 4401 when refused, 1013 while keys cannot
 * be checked). Every operation counts against the caller's rate limit and follows the manifest's
 * rules as over HTTP (an API key runs manifest operations only). Each subscription is planned with
 * @apollo/query-planner against the current supergraph; the primary fetch becomes a subscription
 * on the owning subgraph (UpstreamPool: shared, reference counted, reconnecting), and every event
 * runs the rest of the plan (executeEvent) before it reaches the client (SubscriptionHub). Results
 * of shared fields are serialized once per event and written straight to every client's socket
 * (DirectStream); graphql-ws still runs the operations' lifecycle (subscribe, complete, errors).
 * Queries and mutations sent over the socket go through `executeOperation`.
 */
export function createSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { config, log, verifyToken } = options;
  const validationRules = options.validationRules ? [...specifiedRules, ...options.validationRules] : undefined;

  /** The key's owner and token, or the error to refuse with (UNAUTHENTICATED, or UPSTREAM_UNAVAILABLE while keys cannot be checked). */
  async function exchangeKey(key: string): Promise<{ viewer: Viewer; authorization: string } | GraphQLError> {
    try {
      const exchanged = options.apiKeys ? await options.apiKeys.exchange(key) : null;
      return exchanged ?? new AppError('UNAUTHENTICATED', 'The API key is not valid');
    } catch {
      return new AppError('UPSTREAM_UNAVAILABLE', 'API keys cannot be checked right now');
    }
  }
  const sharedFields = new Set(config.subscriptionSharedFields);
  const maxPerConnection = config.subscriptionMaxPerConnection;
  const production = config.env === 'production';
  const pool = new UpstreamPool({
    log: log.child({ component: 'subscriptions' }),
    reconnectMaxMs: config.subscriptionReconnectMaxMs,
    keepAliveMs: config.subscriptionKeepAliveMs,
    connectTimeoutMs: config.subgraphTimeoutMs,
  });
  const hub = new SubscriptionHub({ pool });

  let planner: { sdl: string; planner: SubscriptionPlanner } | undefined;
  function currentPlanner(): SubscriptionPlanner | undefined {
    const served = options.supergraph();
    if (!served) return undefined;
    if (planner?.sdl !== served.sdl) planner = { sdl: served.sdl, planner: new SubscriptionPlanner(served.sdl, served.apiSchema) };
    return planner.planner;
  }

  function formatOne(error: GraphQLError | GraphQLFormattedError, context: SocketContext | undefined): GraphQLFormattedError {
    // Results of executeOperation were formatted by Apollo Server already.
    if (!(error instanceof GraphQLError)) return error;
    const gone = (error.originalError as NodeJS.ErrnoException | undefined)?.code;
    if (gone !== undefined && CLIENT_GONE.has(gone)) {
      (context?.log ?? log).debug({ code: gone }, 'a client went away while a message was written to it');
    } else if (!isExpectedError(error)) {
      (context?.log ?? log).error(
        { err: error.originalError ?? error, message: error.message, path: error.path, serviceName: error.extensions?.serviceName, code: error.extensions?.code },
        'masked an unexpected error',
      );
    }
    const formatted = error.toJSON();
    return options.formatError ? options.formatError(formatted, error) : formatted;
  }

  function formatResult(result: ExecutionResult | FormattedExecutionResult, context: SocketContext | undefined): FormattedExecutionResult {
    const formatted: FormattedExecutionResult = {};
    if (result.data !== undefined) formatted.data = result.data;
    if (result.errors && result.errors.length > 0) formatted.errors = result.errors.map((error) => formatOne(error, context));
    if (result.extensions !== undefined) formatted.extensions = result.extensions;
    return formatted;
  }

  /** A shared result's `next` payload, built once for every client of its operation. */
  const serializeShared = (result: ExecutionResult): string => JSON.stringify(formatResult(result, undefined));

  /** Ends `span` when `run` settles: failed if it threw, with the count of the result's GraphQL errors. */
  async function endWith(span: ServerSpan, run: () => Promise<ExecutionResult>): Promise<ExecutionResult> {
    try {
      const result = await run();
      if (result.errors?.length) span.setAttributes({ 'graphql.errors': result.errors.length });
      span.end({});
      return result;
    } catch (error) {
      span.end({ error: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }

  /** Runs the rest of a subscription's plan for one event, as a span of its own under the operation's. */
  async function executeInSpan(execution: EventExecution, value: OperationValue, event: UpstreamEvent): Promise<ExecutionResult> {
    const { router, spanName } = value;
    const { span, trace } = eventSpan(options.tracing, router.trace, `subscription_event ${spanName ?? 'anonymous'}`, {
      'graphql.operation.type': 'subscription',
      ...(spanName ? { 'graphql.operation.name': spanName } : {}),
    });
    return endWith(span, () => executeEvent({ ...execution, context: router.inTrace(trace) }, event));
  }

  function startSubscription(args: ExecutionArgs): ExecutionResult | AsyncIterableIterator<ExecutionResult> {
    const { span } = args.contextValue as OperationValue;
    try {
      const started = subscribeUpstream(args);
      // An iterator: the subscription runs. A result: it was refused (planning failed, no subgraph).
      const refused = Symbol.asyncIterator in started ? undefined : started;
      if (refused?.errors?.length) span.setAttributes({ 'graphql.errors': refused.errors.length });
      span.end({ error: refused?.errors?.[0]?.message });
      return started;
    } catch (error) {
      span.end({ error: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }

  function subscribeUpstream(args: ExecutionArgs): ExecutionResult | AsyncIterableIterator<ExecutionResult> {
    const { router, planner: current, source, id, socket } = args.contextValue as OperationValue;
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    const operationName = args.operationName ?? undefined;
    let planned;
    try {
      planned = current.plan(args.document, source, operationName);
    } catch (error) {
      router.log.warn({ err: error }, 'a subscription could not be planned');
      return { errors: [asGraphQLError(error)] };
    }
    const { primary } = planned.node;
    const url = options.subgraphUrl(primary.serviceName);
    if (!url) {
      return { errors: [new AppError('UPSTREAM_UNAVAILABLE', `Subgraph ${primary.serviceName} is unavailable`, { serviceName: primary.serviceName, reason: 'no URL' })] };
    }
    // Public feeds subscribe anonymously and are shared by everyone; any other is shared only
    // by clients forwarding the same Authorization (anonymous clients among themselves).
    const shared = sharedFields.has(planned.rootField);
    const feed: FeedSpec = {
      serviceName: primary.serviceName,
      url: toWebSocketUrl(url),
      query: primary.operation,
      operationName: primary.operationName,
      variables: pick(variables, primary.variableUsages),
      authorization: shared ? undefined : router.authorization,
      requestId: router.requestId,
    };
    // Without a rest to fetch, a public feed's results are the same whoever asks.
    const perCaller = shared && !planned.node.rest ? null : (router.authorization ?? null);
    const key = stableStringify([feedKey(feed), current.id, operationName ?? null, source, variables, perCaller]);
    const execution: EventExecution = {
      planner: current,
      planned,
      document: args.document as DocumentNode,
      source,
      operationName,
      variables,
      context: router,
      dataSources: options.dataSources,
    };
    return hub.subscribe({
      key,
      feed,
      conflate: shared,
      execute: (event) => executeInSpan(execution, args.contextValue as OperationValue, event),
      log: router.log,
      // Shared results bypass graphql-ws's per-client formatting and writes (see DirectStream).
      direct: shared ? { socket, id, serialize: serializeShared } : undefined,
    });
  }

  function runOperation(args: ExecutionArgs): Promise<ExecutionResult> {
    return endWith((args.contextValue as OperationValue).span, () => executeOverSocket(args));
  }

  async function executeOverSocket(args: ExecutionArgs): Promise<ExecutionResult> {
    const { router, source, persistedId } = args.contextValue as OperationValue;
    if (!options.executeOperation) {
      return { errors: [new GraphQLError('Send queries and mutations over HTTP', { extensions: { code: 'BAD_REQUEST' } })] };
    }
    const result = await options.executeOperation(
      {
        query: source,
        variables: (args.variableValues ?? undefined) as Record<string, unknown> | undefined,
        operationName: args.operationName ?? undefined,
        extensions: persistedId ? { persistedQuery: { version: 1, sha256Hash: persistedId } } : undefined,
      },
      router,
    );
    // Already formatted; formatResult passes such errors through.
    return result as ExecutionResult;
  }

  const events = new EventEmitter<SubscriptionServerEvents>();
  let closing: Promise<void> | undefined;
  let openOperations = 0;
  let drained: (() => void) | undefined;

  const wsServer = new WebSocketServer({ noServer: true, maxPayload: config.bodyLimitBytes, perMessageDeflate: false });
  const disposable = useServer<Record<string, unknown>, ConnectionInfo>(
    {
      isProd: production,
      connectionInitWaitTimeout: config.subscriptionInitTimeoutMs,
      async onConnect(ctx) {
        const params = ctx.connectionParams ?? {};
        const fromParams = params.authorization ?? params.Authorization;
        const header = typeof fromParams === 'string' ? fromParams : ctx.extra.request.headers.authorization;
        const incomingId = typeof params.requestId === 'string' ? params.requestId : ctx.extra.request.headers['x-request-id'];
        ctx.extra.requestId = typeof incomingId === 'string' && VALID_REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
        const apiKey = apiKeyOf(params, ctx.extra.request.headers);
        if (apiKey !== undefined) {
          if (typeof apiKey !== 'string' || header !== undefined) {
            ctx.extra.socket.close(CloseCode.BadRequest, `Bad request: ${typeof apiKey !== 'string' ? 'the API key must be one string' : 'send either an API key or a bearer token, not both'}`);
            return false;
          }
          const outcome = await exchangeKey(apiKey);
          if (outcome instanceof GraphQLError) {
            const unavailable = outcome.extensions.code === 'UPSTREAM_UNAVAILABLE';
            // 1013 (try again later) is one graphql-ws clients retry; 4401 they do not.
            ctx.extra.socket.close(unavailable ? TRY_AGAIN_LATER : CloseCode.Unauthorized, unavailable ? 'Try again later: API keys cannot be checked right now' : 'Unauthorized: the API key is not valid');
            return false;
          }
          Object.assign(ctx.extra, outcome, { apiKey });
          return true;
        }
        try {
          ctx.extra.viewer = await viewerFromHeader(header, verifyToken);
          ctx.extra.authorization = header || undefined;
          if (header) closeWhenExpired(ctx.extra.socket, header);
          return true;
        } catch {
          // 4401 rather than graphql-ws's 4403: clients do not retry it with the same token.
          ctx.extra.socket.close(CloseCode.Unauthorized, 'Unauthorized: invalid or expired access token');
          return false;
        }
      },
      async onSubscribe(ctx, id, payload) {
        if (closing) return [new AppError('UPSTREAM_UNAVAILABLE', 'The router is shutting down')];
        // The new operation holds a slot already.
        if (Object.keys(ctx.subscriptions).length > maxPerConnection) {
          return [new AppError('QUOTA_EXCEEDED', `At most ${maxPerConnection} operations may run at once on one connection`, { limit: maxPerConnection })];
        }
        if (ctx.extra.apiKey !== undefined) {
          const outcome = await exchangeKey(ctx.extra.apiKey);
          if (outcome instanceof GraphQLError) return [outcome];
          Object.assign(ctx.extra, outcome);
        }
        if (ctx.extra.viewer && options.limitCaller) {
          const refusal = await options.limitCaller(ctx.extra.viewer);
          if (refusal) {
            return [new AppError('RATE_LIMITED', `Too many requests for ${refusal.who}; retry in ${refusal.retryAfterSeconds} s`, { retryAfterSeconds: refusal.retryAfterSeconds })];
          }
        }
        const current = currentPlanner();
        if (!current) return [new AppError('UPSTREAM_UNAVAILABLE', 'The supergraph is not loaded yet')];
        // graphql-ws requires a query string: a client naming a manifest operation by hash may send ''.
        const persisted = options.documents?.find(payload.query === '' ? undefined : payload.query, payload.extensions ?? undefined);
        const source = persisted?.body ?? payload.query;
        let document: DocumentNode;
        try {
          document = parse(source, options.parseOptions);
        } catch (error) {
          return [withCode(asGraphQLError(error), 'GRAPHQL_PARSE_FAILED')];
        }
        const invalid = validate(current.schema, document, validationRules);
        if (invalid.length > 0) return invalid.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED', production));
        const operationName = payload.operationName ?? undefined;
        const operation = getOperationAST(document, operationName);
        if (!operation) return [new GraphQLError('Unable to identify operation', { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })];
        const refusal = options.documents?.refusal(ctx.extra.viewer ?? null, operation.operation, persisted !== undefined);
        if (refusal) return [new AppError('FORBIDDEN', refusal)];
        const variables = (payload.variables ?? {}) as Record<string, unknown>;
        if (operation.operation === 'subscription') {
          const { errors } = getVariableValues(current.schema, operation.variableDefinitions ?? [], variables);
          if (errors && errors.length > 0) return errors.map((error) => withCode(error, 'BAD_USER_INPUT'));
        }
        const requestId = ctx.extra.requestId ?? randomUUID();
        const spanName = operationName ?? operation.name?.value;
        const { span, trace } = operationSpan(options.tracing, ctx.extra.request.headers, `${operation.operation} ${spanName ?? 'anonymous'}`, {
          'graphql.operation.type': operation.operation,
          ...(spanName ? { 'graphql.operation.name': spanName } : {}),
          'mercado.request_id': requestId,
        });
        const router = new SocketContext(requestId, ctx.extra.viewer ?? null, ctx.extra.authorization, log, id, trace);
        const value: OperationValue = { router, planner: current, source, persistedId: persisted?.id, id, socket: ctx.extra.socket, span, spanName };
        return { schema: current.schema, document, operationName, variableValues: variables, contextValue: value };
      },
      subscribe: startSubscription,
      execute: runOperation,
      onOperation() {
        openOperations += 1;
        events.emit('started');
      },
      onNext(_ctx, _id, _payload, args, result) {
        return formatResult(result, (args.contextValue as OperationValue | undefined)?.router);
      },
      onError(_ctx, _id, _payload, errors) {
        return errors.map((error) => formatOne(error, undefined));
      },
      onComplete() {
        openOperations -= 1;
        if (openOperations <= 0) drained?.();
        events.emit('completed');
      },
    },
    wsServer,
    config.subscriptionKeepAliveMs,
  );

  if (options.metrics) {
    const registers = [options.metrics];
    new Gauge({
      name: 'router_subscription_connections',
      help: 'Open graphql-ws client connections',
      registers,
      collect() {
        this.set(wsServer.clients.size);
      },
    });
    new Gauge({
      name: 'router_subscriptions',
      help: 'Client subscriptions being served',
      registers,
      collect() {
        this.set(hub.clients());
      },
    });
    new Gauge({
      name: 'router_upstream_subscriptions',
      help: 'Subscriptions the router holds on subgraphs (shared between identical client subscriptions)',
      registers,
      collect() {
        this.set(pool.stats().subscriptions);
      },
    });
  }

  return {
    events,
    handleUpgrade(req, socket, head) {
      const path = (req.url ?? '/').split('?')[0];
      if (closing || path !== options.path) {
        // A client that resets the connection must not crash the router through an unhandled socket error.
        socket.on('error', () => socket.destroy());
        if (!socket.writable) return void socket.destroy();
        socket.end(closing ? 'HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\r\n' : 'HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
        return;
      }
      wsServer.handleUpgrade(req, socket, head, (ws) => wsServer.emit('connection', ws, req));
    },
    stats() {
      return { connections: wsServer.clients.size, subscriptions: hub.clients(), upstream: pool.stats() };
    },
    close() {
      closing ??= (async () => {
        // Every client subscription completes (graphql-ws sends `complete` as each stream ends)…
        const allCompleted = new Promise<void>((resolve) => {
          drained = resolve;
          if (openOperations <= 0) resolve();
        });
        hub.shutdown();
        let grace: NodeJS.Timeout | undefined;
        await Promise.race([allCompleted, new Promise<void>((resolve) => (grace = setTimeout(resolve, CLOSE_GRACE_MS)))]);
        clearTimeout(grace);
        // …and is written before the close frame (graphql-ws sends right after onComplete).
        await new Promise<void>((resolve) => setImmediate(resolve));
        pool.close();
        await disposable.dispose();
      })();
      return closing;
    },
  };
}
