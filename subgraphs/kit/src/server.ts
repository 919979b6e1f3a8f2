import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import type { MikroORM } from '@mikro-orm/postgresql';
import { subscribe, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { viewerFromHeader, type TokenVerifier, type Viewer } from './auth';
import type { RequestContext } from './context';
import { AppError, isExpectedError, maskError } from './errors';
import { startEventing, type Eventing, type EventingOptions } from './events/eventing';
import { LoaderCache } from './loaders';
import { createServerMetrics, type ServerMetrics } from './metrics';
import { withTimeout } from './timeout';
import { parseTraceparent } from './trace-context';
import { createTracing, inSpan, type ServerSpan, type Tracing } from './tracing';
import type { TracesConfig } from './config';

export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: string[];
  requestId: string;
  log: Logger;
  /** The raw body, unparsed: webhook signatures are checked on these exact bytes. */
  body: Buffer;
}

export interface Route {
  method: 'GET' | 'POST';
  path: string | RegExp;
  /** The route's label in metrics, such as `/charts/:id`; default the path (a pattern's label is its source). */
  name?: string;
  handle(request: RouteRequest): Promise<void> | void;
}

export interface SubgraphServerOptions {
  name: string;
  schema: GraphQLSchema;
  orm: MikroORM;
  log: Logger;
  verifyToken: TokenVerifier;
  /** Named checks `/ready` runs; each must settle within two seconds. */
  readiness?: Record<string, () => Promise<unknown>>;
  /** Extra figures `/health` reports next to its status (e.g. a work queue's length); must settle within two seconds. */
  health?: () => Promise<Record<string, unknown>>;
  /** Served whatever `api` says: a `--workers-only` process passes only the routes its workers need. */
  routes?: Route[];
  /** Serve GraphQL (HTTP and graphql-ws) on `/graphql`. Default true; false in a `--workers-only` process. */
  api?: boolean;
  /** Runs the subgraph's outbox relay, and its event consumer when handlers are given; stopped by close(). */
  events?: Omit<EventingOptions, 'orm' | 'subgraph' | 'log' | 'metrics' | 'tracing'>;
  /** Closes what the subgraph owns besides HTTP, events and the ORM (queues, Redis). */
  onClose?: () => Promise<void>;
  bodyLimitBytes?: number;
  /** Where request spans go; without an endpoint none is recorded. */
  traces?: TracesConfig;
  /** This process's tracing when parts built before the server record spans too (from `traces` otherwise); the server shuts it down. */
  tracing?: Tracing;
}

export interface SubgraphServer {
  httpServer: http.Server;
  metrics: ServerMetrics;
  /** Null unless `events` was given. */
  eventing: Eventing | null;
  /** This process's spans: a subgraph that starts its own event consumer passes it on. */
  tracing: Tracing;
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

/** Health probes and metric scrapes: frequent, and no part of any user's request. */
const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics']);

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new HttpError(413, `Request body exceeds ${limitBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * `iterator` as an async generator that keeps `gauge` counting it until it ends: completed by the
 * source, returned (the client sent `complete` or disconnected) or thrown into.
 */
function counted<T>(iterator: AsyncGenerator<T> | AsyncIterableIterator<T>, gauge: ServerMetrics['subscriptions']): AsyncGenerator<T> {
  gauge.inc();
  let open = true;
  const done = (): void => {
    if (!open) return;
    open = false;
    gauge.dec();
  };
  const wrapped: AsyncGenerator<T> = {
    [Symbol.asyncIterator]: () => wrapped,
    async next() {
      try {
        const result = await iterator.next();
        if (result.done) done();
        return result;
      } catch (error) {
        done();
        throw error;
      }
    },
    async return(value?: unknown) {
      done();
      return (await iterator.return?.(value as never)) ?? { value: undefined as never, done: true };
    },
    async throw(error?: unknown) {
      done();
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
    [Symbol.asyncDispose]: async () => {
      await wrapped.return(undefined as never);
    },
  };
  return wrapped;
}

function loggingPlugin(metrics: ServerMetrics): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            if (!isExpectedError(error)) contextValue.log.error({ err: error.originalError ?? error, path: error.path }, 'unexpected error');
          }
        },
        async willSendResponse({ request, response }) {
          const failed = response.body.kind === 'single' && (response.body.singleResult.errors?.length ?? 0) > 0;
          metrics.operations.inc({ operation: request.operationName ?? 'anonymous', outcome: failed ? 'error' : 'ok' });
        },
      };
    },
  };
}

/**
 * A token traded for an API key carries the key's scopes: without `write` it may not run a
 * mutation. The router checks this too; subgraphs do not trust the network.
 */
const apiKeyScopePlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation, contextValue }) {
        const viewer = contextValue.viewer;
        if (viewer?.apiKeyId && operation?.operation === 'mutation' && !viewer.scopes.includes('write')) {
          throw new AppError('FORBIDDEN', 'This API key has no write scope');
        }
      },
    };
  },
};

/**
 * One HTTP server per subgraph: GraphQL over HTTP (Apollo Server) and graphql-ws on `/graphql`,
 * plus `/health`, `/ready`, `/metrics` and the subgraph's own routes (webhooks, JWKS).
 */
export async function createSubgraphServer(options: SubgraphServerOptions): Promise<SubgraphServer> {
  const { name, schema, orm, log, verifyToken } = options;
  const bodyLimit = options.bodyLimitBytes ?? 1_000_000;
  const metrics = createServerMetrics(name);
  const httpServer = http.createServer();
  httpServer.keepAliveTimeout = 65_000;
  const tracing = options.tracing ?? createTracing({ endpoint: undefined, sampleRatio: 1, headers: {}, ...options.traces, serviceName: name });

  // A request's child logger is built on first use: most requests never log, and a child costs a
  // redaction pass over its bindings. The trace id is the caller's (the router's `traceparent`) or the request's own.
  const contextFor = (viewer: Viewer | null, requestId: string, traceId?: string): RequestContext => {
    let requestLog: Logger | undefined;
    return {
      requestId,
      viewer,
      em: orm.em.fork(),
      get log() {
        return (requestLog ??= log.child({ requestId, traceId }));
      },
      loaders: new LoaderCache(),
    };
  };

  const createApollo = (): ApolloServer<RequestContext> =>
    new ApolloServer<RequestContext>({
      schema,
      introspection: true,
      csrfPrevention: true,
      logger: log,
      // runService owns SIGTERM; Apollo's own handler would race it and stall shutdown.
      stopOnTerminationSignals: false,
      includeStacktraceInErrorResponses: false,
      formatError: maskError,
      plugins: [ApolloServerPluginDrainHttpServer({ httpServer }), ApolloServerPluginLandingPageDisabled(), loggingPlugin(metrics), apiKeyScopePlugin],
    });

  /** graphql-ws on `/graphql`; returns what disposes it. */
  const serveSubscriptions = () =>
    useServer<{ authorization?: string; requestId?: string }, { viewer: Viewer | null }>(
      {
        schema,
        onConnect: async (ctx) => {
          try {
            ctx.extra.viewer = await viewerFromHeader(ctx.connectionParams?.authorization, verifyToken);
            return true;
          } catch {
            return false;
          }
        },
        context: (ctx) => contextFor(ctx.extra.viewer ?? null, ctx.connectionParams?.requestId ?? randomUUID()),
        subscribe: async (args: ExecutionArgs) => {
          const result = await subscribe(args);
          return Symbol.asyncIterator in result ? counted(result as AsyncGenerator<ExecutionResult>, metrics.subscriptions) : result;
        },
      },
      new WebSocketServer({ server: httpServer, path: '/graphql' }),
    );

  // A `--workers-only` process has no GraphQL at all: nothing parses, plans or accepts a socket.
  const apollo = (options.api ?? true) ? createApollo() : null;
  await apollo?.start();
  const wsCleanup = apollo ? serveSubscriptions() : null;

  const routes = options.routes ?? [];
  const eventing = options.events
    ? await startEventing({ orm, log, subgraph: name, metrics: metrics.registry, tracing, ...options.events })
    : null;

  async function graphqlRoute(apollo: ApolloServer<RequestContext>, req: IncomingMessage, res: ServerResponse, url: URL, requestId: string, span: ServerSpan): Promise<void> {
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req, bodyLimit);
      try {
        body = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        sendJson(res, 400, { errors: [{ message: 'Request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
        return;
      }
    }
    // The router names each fetch (`Query__catalog__0`): the span takes the name.
    const operationName = (body as { operationName?: unknown } | undefined)?.operationName ?? url.searchParams.get('operationName');
    if (typeof operationName === 'string' && operationName !== '') {
      span.setName(operationName.slice(0, 200));
      span.setAttributes({ 'graphql.operation.name': operationName.slice(0, 200) });
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: async () => contextFor(await viewerFromHeader(req.headers.authorization, verifyToken), requestId, span.traceId),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
    } else {
      for await (const chunk of response.body.asyncIterator) res.write(chunk);
      res.end();
    }
  }

  async function ready(res: ServerResponse): Promise<void> {
    const checks: Record<string, () => Promise<unknown>> = {
      database: () => orm.em.getConnection().execute('select 1'),
      ...options.readiness,
    };
    const results: Record<string, string> = {};
    await Promise.all(
      Object.entries(checks).map(async ([check, run]) => {
        results[check] = await withTimeout(run(), 2_000).then(
          () => 'ok',
          (error: Error) => `failing: ${error.message}`,
        );
      }),
    );
    const allOk = Object.values(results).every((result) => result === 'ok');
    sendJson(res, allOk ? 200 : 503, { status: allOk ? 'ready' : 'not ready', checks: results });
  }

  httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const requestId = (req.headers['x-request-id'] as string | undefined)?.slice(0, 128) || randomUUID();
    res.setHeader('x-request-id', requestId);
    const url = new URL(req.url ?? '/', 'http://localhost');
    let route = 'unknown';
    // Probes and scrapes are not traced. The path is no attribute: a webhook's holds its secret token.
    const span = UNTRACED_PATHS.has(url.pathname) ? null : tracing.startServerSpan(`${req.method} ${url.pathname === '/graphql' ? '/graphql' : 'request'}`, parseTraceparent(req.headers.traceparent), {
      'http.request.method': req.method ?? 'GET',
      'mercado.request_id': requestId,
    });
    const run = async (): Promise<void> => {
      if (apollo && url.pathname === '/graphql') {
        route = 'graphql';
        return graphqlRoute(apollo, req, res, url, requestId, span!);
      }
      if (req.method === 'GET' && url.pathname === '/health') {
        route = 'health';
        // Alive even when the extra figures cannot be read: /ready is what reports dependencies.
        const details = options.health ? await withTimeout(options.health(), 2_000).catch((error: Error) => ({ healthError: error.message })) : {};
        return sendJson(res, 200, { status: 'ok', service: name, ...details });
      }
      if (req.method === 'GET' && url.pathname === '/ready') {
        route = 'ready';
        return ready(res);
      }
      if (req.method === 'GET' && url.pathname === '/metrics') {
        route = 'metrics';
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
        return;
      }
      for (const candidate of routes) {
        if (candidate.method !== req.method) continue;
        const match = typeof candidate.path === 'string' ? (candidate.path === url.pathname ? [url.pathname] : null) : candidate.path.exec(url.pathname);
        if (!match) continue;
        route = candidate.name ?? String(candidate.path);
        span?.setName(`${req.method} ${route}`);
        const body = req.method === 'POST' ? await readBody(req, bodyLimit) : Buffer.alloc(0);
        let requestLog: Logger | undefined;
        return candidate.handle({
          req,
          res,
          url,
          params: match.slice(1),
          requestId,
          get log() {
            return (requestLog ??= log.child({ requestId, traceId: span?.traceId }));
          },
          body,
        });
      }
      sendJson(res, 404, { error: 'Not found' });
    };
    (span ? inSpan(span, run) : run())
      .catch((error: unknown) => {
        if (error instanceof HttpError) {
          if (!res.headersSent) sendJson(res, error.status, { error: error.message });
          return;
        }
        log.error({ err: error, requestId, route }, 'request failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'Internal server error', requestId });
        else res.destroy();
      })
      .finally(() => {
        metrics.httpDuration.observe({ route, status: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
        span?.setAttributes({ 'http.route': route });
        span?.end({ statusCode: res.statusCode });
      });
  });

  let closed = false;
  return {
    httpServer,
    metrics,
    eventing,
    tracing,
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          const address = httpServer.address() as AddressInfo;
          resolve(`http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}/graphql`);
        });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await wsCleanup?.dispose();
      await apollo?.stop();
      if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await eventing?.close();
      await options.onClose?.();
      await orm.close();
      await tracing.shutdown();
    },
  };
}
