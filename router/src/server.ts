import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import type { GraphQLFormattedError, GraphQLSchema, ParseOptions } from 'graphql';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { TokenVerifier, Viewer } from '../../subgraphs/kit/src/auth';
import { createErrorReporter, createRedisClient } from '../../subgraphs/kit/src/events';
import { FixedWindowRateLimiter } from '../../subgraphs/kit/src/rate-limit';
import { RedisApqCache } from './apq-cache';
import type { RouterConfig } from './config';
import { createGateway, createPooledFetcher, createSubgraphAgent, SubgraphDataSource, subgraphsOf, type SupergraphSource } from './gateway';
import { apiKeyPlugin, createApiKeyExchange } from './plugins/api-keys';
import { authPlugin } from './plugins/auth';
import { corsPlugin } from './plugins/cors';
import { errorMaskingPlugin } from './plugins/error-masking';
import { healthPlugin } from './plugins/health';
import { GRAPHQL_PATH, landingPagePlugin } from './plugins/landing-page';
import { metricsPlugin } from './plugins/metrics';
import { operationLimitsPlugin } from './plugins/operation-limits';
import { persistedQueriesPlugin, readManifest, trustedDocuments } from './plugins/persisted-queries';
import { callerLimit, rateLimitPlugin } from './plugins/rate-limit';
import { requestIdPlugin } from './plugins/request-id';
import { traceContextPlugin } from './plugins/trace-context';
import { createTracing } from '../../subgraphs/kit/src/tracing';
import type { HttpExchange, RequestTrace, RouterContext, RouterPlugin, SubgraphRequestEvent, SubgraphResponseEvent } from './plugins/types';
import { createSubscriptionServer, type SubscriptionServer } from './subscriptions/server';

export { GRAPHQL_PATH };

/** Connections waiting to be accepted (thousands of graphql-ws clients may connect at once); the kernel caps it at somaxconn. */
const LISTEN_BACKLOG = 4096;

export interface RouterDeps {
  config: RouterConfig;
  log: Logger;
  verifyToken: TokenVerifier;
  /** A supergraph given directly (tests) instead of `config.supergraphPath`; not watched. */
  supergraphSdl?: string;
  /** Plugins run after the built-in ones. */
  plugins?: RouterPlugin[];
}

export interface SupergraphState {
  /** sha256 of the SDL (first 16 hex digits). */
  id: string;
  subgraphs: { name: string; url: string }[];
}

export interface RouterEvents {
  'supergraph-updated': [SupergraphState];
  'supergraph-rejected': [Error];
}

export interface RouterServer {
  httpServer: http.Server;
  gateway: ApolloGateway;
  metrics: Registry;
  /** Supergraph reloads: `supergraph-updated` once the new one serves, `supergraph-rejected` when a changed file is unusable. */
  events: EventEmitter<RouterEvents>;
  supergraph(): SupergraphState | null;
  /** graphql-ws on `/graphql`. */
  subscriptions: SubscriptionServer;
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

class RequestContext implements RouterContext {
  viewer: Viewer | null = null;
  authorization?: string;
  trace?: RequestTrace;
  private logger?: Logger;

  constructor(
    public requestId: string,
    private readonly baseLog: Logger,
  ) {}

  get log(): Logger {
    return (this.logger ??= this.baseLog.child({ requestId: this.requestId, traceId: this.trace?.traceId }));
  }
}

function sendError(res: ServerResponse, status: number, message: string, code: string): void {
  const text = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limitBytes) throw new HttpError(413, `Request body exceeds ${limitBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new HttpError(413, `Request body exceeds ${limitBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Collects one hook from every plugin that has it, in plugin order. */
function hooks<K extends keyof RouterPlugin>(plugins: RouterPlugin[], key: K): NonNullable<RouterPlugin[K]>[] {
  return plugins.flatMap((plugin) => (plugin[key] ? [(plugin[key] as (...args: never[]) => unknown).bind(plugin) as NonNullable<RouterPlugin[K]>] : []));
}

/**
 * The router: Apollo Server 5 over @apollo/gateway on a bare node http server. Plans against the
 * committed supergraph (reloaded when the file changes), executes through pooled keep-alive
 * subgraph connections, and serves `/graphql` (+ Sandbox on `/` in development), `/health`,
 * `/ready` and `/metrics`. Reads no environment: everything comes from `deps`.
 *
 * Subscriptions: graphql-ws on the same port and `GRAPHQL_PATH` (upgrade requests never reach the
 * `request` handler), see subscriptions/server.ts.
 */
export async function createRouter(deps: RouterDeps): Promise<RouterServer> {
  const { config, log } = deps;
  const production = config.env === 'production';
  const events = new EventEmitter<RouterEvents>();

  const agent = createSubgraphAgent({ connectionsPerOrigin: config.subgraphMaxSockets });
  const fetcher = createPooledFetcher(agent, config.subgraphTimeoutMs);

  // APQ cache and rate limit counters, shared by the replicas. No offline queue: while Redis is
  // away a lookup misses and a count lets the request through at once, instead of waiting.
  const redis = createRedisClient(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1_000 });
  const redisErrors = createErrorReporter(log, {}, 'router redis connection error');
  redis.on('error', (error) => redisErrors.error(error));
  redis.on('ready', () => redisErrors.recovered());
  const limiters: FixedWindowRateLimiter[] = [];
  const perMinute = (limit: number, prefix: string) => {
    if (limit <= 0) return null;
    const limiter = new FixedWindowRateLimiter(redis, { limit, windowSeconds: 60 }, log.child({ component: 'rate-limit' }), prefix, {
      syncIntervalMs: config.rateLimitSyncMs,
    });
    limiters.push(limiter);
    return limiter;
  };

  // HTTP requests and WebSocket operations share the key cache, the limits and the manifest's rules.
  const documents = trustedDocuments({ manifest: readManifest(config.persistedQueriesPath), safelist: config.persistedQueriesSafelist });
  const apiKeys = createApiKeyExchange({ exchangeUrl: config.apiKeyExchangeUrl, verifyToken: deps.verifyToken, cacheTtlMs: config.apiKeyCacheSeconds * 1000 });
  const limitCaller = callerLimit({
    apiKeys: perMinute(config.rateLimitApiKeyPerMinute, 'mercado:router:rate:'),
    users: perMinute(config.rateLimitUserPerMinute, 'mercado:router:rate:'),
  });

  let supergraph: SupergraphState | null = null;
  // One tracer for HTTP operations and the socket's (closed by the trace-context plugin).
  const tracing = createTracing({ ...config.traces, serviceName: 'router' });
  const metrics = metricsPlugin();
  const plugins: RouterPlugin[] = [
    requestIdPlugin(),
    traceContextPlugin(tracing),
    corsPlugin(config.cors),
    healthPlugin({ supergraph: () => supergraph, dispatcher: agent }),
    metrics,
    landingPagePlugin({ enabled: !production, log }),
    authPlugin({ verifyToken: deps.verifyToken }),
    apiKeyPlugin(apiKeys),
    rateLimitPlugin(limitCaller),
    operationLimitsPlugin(config.operationLimits),
    persistedQueriesPlugin(documents),
    errorMaskingPlugin(),
    ...(deps.plugins ?? []),
  ];
  const requestHooks = hooks(plugins, 'onRequest');
  const responseHooks = hooks(plugins, 'onResponse');
  const contextHooks = hooks(plugins, 'onContext');
  const subgraphRequestHooks = hooks(plugins, 'onSubgraphRequest');
  const subgraphResponseHooks = hooks(plugins, 'onSubgraphResponse');
  const formatError = plugins.find((plugin) => plugin.formatError)?.formatError;
  const parseOptions = Object.assign({}, ...plugins.map((plugin) => plugin.parseOptions ?? {})) as ParseOptions;
  const validationRules = plugins.flatMap((plugin) => plugin.validationRules ?? []);

  const onSubgraphRequest = subgraphRequestHooks.length
    ? (event: SubgraphRequestEvent) => {
        for (const hook of subgraphRequestHooks) hook(event);
      }
    : undefined;
  const onSubgraphResponse = subgraphResponseHooks.length
    ? (event: SubgraphResponseEvent) => {
        for (const hook of subgraphResponseHooks) hook(event);
      }
    : undefined;

  // The gateway's subgraph clients by name (the latest per name after a reload); subscriptions fetch through them too.
  const dataSources: Record<string, SubgraphDataSource> = Object.create(null);
  let served: { sdl: string; apiSchema: GraphQLSchema } | null = null;

  const source: SupergraphSource = deps.supergraphSdl !== undefined ? { sdl: deps.supergraphSdl } : { path: config.supergraphPath, watch: config.supergraphWatch };
  const gateway = createGateway({
    supergraph: source,
    log,
    queryPlanCacheMiB: config.queryPlanCacheMiB,
    exposeQueryPlan: !production,
    buildService: ({ name, url }) =>
      (dataSources[name] = new SubgraphDataSource({
        name,
        url: config.subgraphUrls[name] ?? url!,
        fetcher,
        log,
        timeoutMs: config.subgraphTimeoutMs,
        dedupe: config.subgraphDedupe,
        onRequest: onSubgraphRequest,
        onResponse: onSubgraphResponse,
      })),
    events: {
      onUpdated: () => events.emit('supergraph-updated', supergraph!),
      onRejected: ({ error }) => events.emit('supergraph-rejected', error),
    },
  });
  gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl, apiSchema }) => {
    served = { sdl: coreSupergraphSdl, apiSchema };
    supergraph = { id: createHash('sha256').update(coreSupergraphSdl).digest('hex').slice(0, 16), subgraphs: subgraphsOf(coreSupergraphSdl) };
  });

  const httpServer = http.createServer({ keepAliveTimeout: 65_000, noDelay: true });

  const apollo = new ApolloServer<RouterContext>({
    gateway,
    nodeEnv: config.env,
    introspection: config.introspection,
    csrfPrevention: true,
    logger: log,
    // main.ts (runService) owns SIGTERM and calls close(), which completes subscriptions first.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: production,
    // Compact JSON: Apollo Server pretty-prints by default, which costs on every response.
    stringifyResult: (value) => JSON.stringify(value),
    persistedQueries: { cache: new RedisApqCache(redis, log), ttl: config.apqTtlSeconds },
    parseOptions,
    validationRules,
    ...(formatError ? { formatError: formatError as (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError } : {}),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ...plugins.flatMap((plugin) => (plugin.apollo ? [plugin.apollo as ApolloServerPlugin<RouterContext>] : [])),
    ],
  });
  try {
    await apollo.start();
  } catch (error) {
    await agent.close();
    redis.disconnect();
    throw error;
  }

  async function createContext(exchange: HttpExchange): Promise<RouterContext> {
    const context = new RequestContext(exchange.requestId, log);
    for (const hook of contextHooks) await hook(context, exchange);
    return context;
  }

  async function serveGraphQL(exchange: HttpExchange): Promise<void> {
    const { req, res } = exchange;
    const headers = new HeaderMap();
    const incoming = req.headers;
    for (const name in incoming) {
      const value = incoming[name];
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown;
    if (exchange.method === 'POST') {
      const raw = await readBody(req, config.bodyLimitBytes);
      if (raw.length > 0) {
        const text = raw.toString('utf8');
        if ((incoming['content-type'] ?? '').includes('json')) {
          try {
            body = JSON.parse(text);
          } catch {
            sendError(res, 400, 'Request body is not valid JSON', 'BAD_REQUEST');
            return;
          }
        } else {
          // Apollo Server refuses it: CSRF prevention first, then the content type.
          body = text;
        }
      }
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: exchange.method, headers, search: exchange.search, body },
      context: () => createContext(exchange),
    });
    for (const [name, value] of response.headers) res.setHeader(name, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.setHeader('content-length', Buffer.byteLength(response.body.string));
      res.end(response.body.string);
    } else {
      for await (const chunk of response.body.asyncIterator) res.write(chunk);
      res.end();
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const exchange: HttpExchange = {
      req,
      res,
      method: req.method ?? 'GET',
      path: query === -1 ? url : url.slice(0, query),
      search: query === -1 ? '' : url.slice(query),
      requestId: '',
      route: 'unknown',
      startedAt: process.hrtime.bigint(),
    };
    try {
      for (const hook of requestHooks) {
        const handled = hook(exchange);
        if (handled === true || (handled instanceof Promise && (await handled) === true)) return;
      }
      if (exchange.path === GRAPHQL_PATH) {
        exchange.route = 'graphql';
        await serveGraphQL(exchange);
        return;
      }
      exchange.route = 'not_found';
      sendError(res, 404, 'Not found', 'NOT_FOUND');
    } catch (error) {
      if (error instanceof HttpError) {
        if (!res.headersSent) sendError(res, error.status, error.message, 'BAD_REQUEST');
        return;
      }
      log.error({ err: error, requestId: exchange.requestId, route: exchange.route }, 'request failed');
      if (!res.headersSent) sendError(res, 500, 'Internal server error', 'INTERNAL_SERVER_ERROR');
      else res.destroy();
    } finally {
      for (const hook of responseHooks) hook(exchange);
    }
  }

  httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res);
  });

  const subscriptions = createSubscriptionServer({
    config,
    log,
    verifyToken: deps.verifyToken,
    apiKeys,
    limitCaller,
    documents,
    parseOptions,
    validationRules,
    path: GRAPHQL_PATH,
    supergraph: () => served,
    dataSources: () => dataSources,
    subgraphUrl: (name) => dataSources[name]?.url,
    formatError,
    metrics: metrics.registry,
    tracing,
    async executeOperation(request, context) {
      const response = await apollo.executeOperation(request, { contextValue: context });
      if (response.body.kind === 'single') return response.body.singleResult;
      return { errors: [{ message: 'Incremental delivery is not supported over WebSocket', extensions: { code: 'BAD_REQUEST' } }] };
    },
  });
  httpServer.on('upgrade', subscriptions.handleUpgrade);

  let closing: Promise<void> | undefined;
  return {
    httpServer,
    gateway,
    metrics: metrics.registry,
    events,
    supergraph: () => supergraph,
    subscriptions,
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, LISTEN_BACKLOG, () => {
          httpServer.off('error', reject);
          const address = httpServer.address() as AddressInfo;
          const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
          resolve(`http://${shown}:${address.port}${GRAPHQL_PATH}`);
        });
      });
    },
    close() {
      closing ??= (async () => {
        // Client subscriptions complete, upstream ones are closed, then the sockets.
        await subscriptions.close();
        for (const plugin of plugins) await plugin.close?.();
        // Drains HTTP (in-flight requests finish), then stops the gateway and its file watcher.
        await apollo.stop();
        if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await agent.close();
        await Promise.all(limiters.map((limiter) => limiter.close()));
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}
