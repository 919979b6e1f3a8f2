import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import path from 'node:path';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions, type ServiceEndpointDefinition } from '@apollo/gateway';
// Not re-exported from the package index; the package has no `exports` map, so the path is stable.
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types';
import type { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import { AppError } from '../../subgraphs/kit/src/errors';
import type { RouterContext, SubgraphOutcome, SubgraphRequestEvent, SubgraphResponseEvent } from './plugins/types';

// The fetch types the gateway is written against (@apollo/utils.fetcher), taken from it.
export type Fetcher = RemoteGraphQLDataSource['fetcher'];
type FetcherRequestInit = NonNullable<Parameters<Fetcher>[1]>;
type FetcherResponse = Awaited<ReturnType<Fetcher>>;
type FetcherHeaders = FetcherResponse['headers'];
type GatewayGraphQLResponse = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;

// ---------------------------------------------------------------------------------------------
// Pooled keep-alive fetcher (undici) for the `fetcher` option of RemoteGraphQLDataSource.
// ---------------------------------------------------------------------------------------------

/** FetcherHeaders over a plain lower-cased record, so nothing converts between header classes per fetch. */
export class RecordHeaders implements FetcherHeaders {
  readonly record: Record<string, string>;

  constructor(record?: Record<string, string>) {
    this.record = record ?? (Object.create(null) as Record<string, string>);
  }

  static fromIncoming(headers: Record<string, string | string[] | undefined>): RecordHeaders {
    const record = Object.create(null) as Record<string, string>;
    for (const name of Object.keys(headers)) {
      const value = headers[name];
      if (value !== undefined) record[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    return new RecordHeaders(record);
  }

  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const previous = this.record[key];
    this.record[key] = previous === undefined ? value : `${previous}, ${value}`;
  }
  delete(name: string): void {
    delete this.record[name.toLowerCase()];
  }
  get(name: string): string | null {
    return this.record[name.toLowerCase()] ?? null;
  }
  has(name: string): boolean {
    return this.record[name.toLowerCase()] !== undefined;
  }
  set(name: string, value: string): void {
    this.record[name.toLowerCase()] = value;
  }
  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.record)) yield [name, this.record[name]!];
  }
  *keys(): IterableIterator<string> {
    yield* Object.keys(this.record);
  }
  *values(): IterableIterator<string> {
    for (const name of Object.keys(this.record)) yield this.record[name]!;
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

class PooledResponse implements FetcherResponse {
  readonly redirected = false;
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: RecordHeaders;
  bodyUsed = false;

  constructor(
    readonly url: string,
    private readonly response: Dispatcher.ResponseData,
  ) {
    this.status = response.statusCode;
    this.ok = response.statusCode >= 200 && response.statusCode < 300;
    this.statusText = STATUS_CODES[response.statusCode] ?? '';
    this.headers = RecordHeaders.fromIncoming(response.headers);
  }

  text(): Promise<string> {
    this.bodyUsed = true;
    return this.response.body.text();
  }
  json(): Promise<any> {
    this.bodyUsed = true;
    return this.response.body.json();
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    this.bodyUsed = true;
    return this.response.body.arrayBuffer();
  }
  clone(): FetcherResponse {
    throw new Error('PooledResponse cannot be cloned');
  }
}

/** One connection pool per subgraph origin, kept alive (shorter than the subgraphs' 65 s server keep-alive). */
export function createSubgraphAgent(options: { connectionsPerOrigin: number }): Agent {
  return new Agent({
    connections: options.connectionsPerOrigin,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
  });
}

/**
 * A `Fetcher` on undici's dispatcher API (no WHATWG streams, no cache layer): what
 * RemoteGraphQLDataSource's `fetcher` option takes instead of make-fetch-happen. The timeout bounds
 * the wait for response headers and each gap between body chunks.
 */
export function createPooledFetcher(dispatcher: Dispatcher, timeoutMs: number): Fetcher {
  const targets = new Map<string, { origin: string; path: string }>();
  return async (url: string, init: FetcherRequestInit = {}): Promise<FetcherResponse> => {
    let target = targets.get(url);
    if (!target) {
      const parsed = new URL(url);
      target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
      if (targets.size > 1_000) targets.clear();
      targets.set(url, target);
    }
    const response = await dispatcher.request({
      origin: target.origin,
      path: target.path,
      method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: init.headers,
      body: init.body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    return new PooledResponse(url, response);
  };
}

// ---------------------------------------------------------------------------------------------
// The datasource: header forwarding, in-flight deduplication, timeouts, error tagging.
// ---------------------------------------------------------------------------------------------

interface BufferedResponse {
  status: number;
  headers: FetcherHeaders;
  text: string;
}

class SubgraphUnavailable extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Headers that differ per request without changing the answer; left out of the deduplication key. */
const NOT_IN_DEDUPE_KEY = new Set(['x-request-id', 'content-type', 'accept', 'traceparent', 'tracestate']);

/** Plans only ever produce `{…}`, `query …`, `mutation …` or `subscription …` operations. */
function isReadOperation(query: string): boolean {
  const text = query.trimStart();
  return text.startsWith('{') || text.startsWith('query');
}

function dedupeKey(headers: Record<string, string>, body: string): string {
  let key = body;
  for (const name of Object.keys(headers).sort()) {
    if (!NOT_IN_DEDUPE_KEY.has(name)) key += `\n${name}:${headers[name]}`;
  }
  return key;
}

function isJsonType(contentType: string | null): boolean {
  return contentType !== null && (contentType.startsWith('application/json') || contentType.startsWith('application/graphql-response+json'));
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof SubgraphUnavailable) return error.reason;
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return `timed out after ${timeoutMs} ms`;
  if (code === 'ECONNREFUSED') return 'connection refused';
  // Clients see the reason: a code, never a message that could name internal hosts (the log has the error).
  return code ? `request failed (${code})` : 'request failed';
}

/** A cache-control hint from a subgraph response, as RemoteGraphQLDataSource reads it. */
function restrictCachePolicy(options: GraphQLDataSourceProcessOptions<RouterContext>, headers: FetcherHeaders): void {
  if (options.kind !== GraphQLDataSourceRequestKind.INCOMING_OPERATION) return;
  const policy = options.incomingRequestContext.overallCachePolicy;
  if (!policy || !('restrict' in policy)) return;
  const header = headers.get('cache-control');
  const hint: { maxAge: number; scope?: 'PUBLIC' | 'PRIVATE' } = { maxAge: 0 };
  if (header) {
    for (const part of header.split(',')) {
      const [name, value] = part.trim().toLowerCase().split('=');
      if (name === 'max-age' && value && /^[0-9]+$/.test(value)) hint.maxAge = Number(value);
      else if (name === 'private') hint.scope = 'PRIVATE';
      else if (name === 'public') hint.scope = 'PUBLIC';
    }
  }
  policy.restrict(hint);
}

export interface SubgraphDataSourceOptions {
  name: string;
  url: string;
  fetcher: Fetcher;
  log: Logger;
  /** For the message of a timeout error; the fetcher enforces it. */
  timeoutMs: number;
  dedupe: boolean;
  onRequest?: (event: SubgraphRequestEvent) => void;
  onResponse?: (event: SubgraphResponseEvent) => void;
}

/**
 * The router's subgraph client. Compared with RemoteGraphQLDataSource's own `process` it forwards
 * `authorization` and `x-request-id` (willSendRequest), lets plugins add headers before sending
 * (the trace plugin's `traceparent`), sends through a pooled keep-alive fetcher,
 * shares one in-flight fetch between identical concurrent reads (same subgraph, operation,
 * variables and forwarded headers; queries only, never a fetch of a mutation), turns transport
 * failures into UPSTREAM_UNAVAILABLE, and tags its errors with `extensions.serviceName` (the
 * gateway tags the GraphQL errors a subgraph returns).
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<RouterContext> {
  readonly name: string;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly dedupe: boolean;
  private readonly inflight = new Map<string, Promise<BufferedResponse>>();
  private readonly onRequest?: (event: SubgraphRequestEvent) => void;
  private readonly onResponse?: (event: SubgraphResponseEvent) => void;

  constructor(options: SubgraphDataSourceOptions) {
    super({ url: options.url, fetcher: options.fetcher, apq: false });
    this.name = options.name;
    this.log = options.log;
    this.timeoutMs = options.timeoutMs;
    this.dedupe = options.dedupe;
    this.onRequest = options.onRequest;
    this.onResponse = options.onResponse;
  }

  /** Number of distinct subgraph reads currently shared (for tests and debugging). */
  get inflightCount(): number {
    return this.inflight.size;
  }

  override willSendRequest(options: GraphQLDataSourceProcessOptions<RouterContext>): void {
    if (options.kind !== GraphQLDataSourceRequestKind.INCOMING_OPERATION) return;
    const context = options.incomingRequestContext.context;
    const headers = options.request.http!.headers;
    if (context.authorization) headers.set('authorization', context.authorization);
    if (context.requestId) headers.set('x-request-id', context.requestId);
  }

  override async process(options: GraphQLDataSourceProcessOptions<RouterContext>): Promise<GatewayGraphQLResponse> {
    const { request } = options;
    const incoming = options.kind === GraphQLDataSourceRequestKind.INCOMING_OPERATION ? options.incomingRequestContext : undefined;
    const context = incoming?.context;
    if (!request.query) throw new Error('Missing query');

    const headers = new RecordHeaders();
    if (request.http?.headers) {
      for (const [name, value] of request.http.headers) headers.set(name, value);
    }
    // Federated traces are for Apollo usage reporting, which the router does not run.
    headers.delete('apollo-federation-include-trace');
    headers.set('content-type', 'application/json');
    headers.set('accept', 'application/json');
    request.http = { method: 'POST', url: this.url, headers };
    if (this.willSendRequest) await this.willSendRequest(options);

    const body = JSON.stringify({ query: request.query, variables: request.variables, operationName: request.operationName, extensions: request.extensions });
    const shareable = this.dedupe && incoming?.operation?.operation === 'query' && isReadOperation(request.query);
    const key = shareable ? dedupeKey(headers.record, body) : null;
    const existing = key === null ? undefined : this.inflight.get(key);
    const event: SubgraphRequestEvent = { serviceName: this.name, deduplicated: existing !== undefined, context, operationName: request.operationName ?? null, headers };
    // Before sending: plugins may still set headers (the trace plugin's traceparent of its fetch span).
    this.onRequest?.(event);

    const started = process.hrtime.bigint();
    let pending: Promise<BufferedResponse>;
    if (existing) {
      pending = existing;
    } else {
      pending = this.send({ method: 'POST', headers: headers.record, body });
      if (key !== null) {
        this.inflight.set(key, pending);
        const forget = () => {
          if (this.inflight.get(key) === pending) this.inflight.delete(key);
        };
        pending.then(forget, forget);
      }
    }

    let response: GatewayGraphQLResponse;
    let outcome: SubgraphOutcome = 'ok';
    let statusCode: number | undefined;
    try {
      const buffered = await pending;
      statusCode = buffered.status;
      response = this.parse(buffered);
      if (this.didReceiveResponse) {
        const pathInIncomingRequest = options.kind === GraphQLDataSourceRequestKind.INCOMING_OPERATION ? options.pathInIncomingRequest : undefined;
        response = await this.didReceiveResponse({ response, request, context: context ?? ({} as RouterContext), pathInIncomingRequest });
      }
      if (this.honorSubgraphCacheControlHeader) restrictCachePolicy(options, buffered.headers);
      if (response.errors?.length) outcome = 'graphql_error';
    } catch (error) {
      const reason = describeFailure(error, this.timeoutMs);
      this.onResponse?.(Object.assign(event, { outcome: 'unavailable' as const, durationSeconds: elapsed(started), statusCode, reason }));
      (context?.log ?? this.log).warn({ serviceName: this.name, reason, err: error instanceof SubgraphUnavailable ? undefined : error }, 'subgraph unavailable');
      throw this.unavailable(reason);
    }
    this.onResponse?.(Object.assign(event, { outcome, durationSeconds: elapsed(started), statusCode }));
    return response;
  }

  /** Sends one request and buffers the body, so each waiting operation parses its own copy. */
  private async send(init: FetcherRequestInit): Promise<BufferedResponse> {
    const response = await this.fetcher(this.url, init);
    const text = await response.text();
    return { status: response.status, headers: response.headers, text };
  }

  private parse(buffered: BufferedResponse): GatewayGraphQLResponse {
    const { status, headers, text } = buffered;
    let body: unknown;
    if (isJsonType(headers.get('content-type'))) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new SubgraphUnavailable(`invalid JSON in an HTTP ${status} response`);
      }
    }
    const isObject = typeof body === 'object' && body !== null && !Array.isArray(body);
    if (status >= 200 && status < 300) {
      if (!isObject) throw new SubgraphUnavailable(`non-JSON HTTP ${status} response`);
    } else if (!isObject || !Array.isArray((body as { errors?: unknown }).errors)) {
      // A GraphQL error body (400 validation, 401 from the subgraph's own auth) passes through below.
      throw new SubgraphUnavailable(`HTTP ${status}`);
    }
    return { ...(body as GatewayGraphQLResponse), http: { headers, status } };
  }

  private unavailable(reason: string): GraphQLError {
    const message = reason.startsWith('timed out') ? `Subgraph ${this.name} ${reason}` : `Subgraph ${this.name} is unavailable`;
    return new AppError('UPSTREAM_UNAVAILABLE', message, { serviceName: this.name, reason });
  }
}

const elapsed = (started: bigint): number => Number(process.hrtime.bigint() - started) / 1e9;

// ---------------------------------------------------------------------------------------------
// The gateway on the committed supergraph file, reloaded when the file changes.
// ---------------------------------------------------------------------------------------------

export type SupergraphSource = { sdl: string } | { path: string; watch: boolean; debounceMs?: number };

export interface SupergraphEvents {
  /** A new supergraph is serving (not emitted for the initial load). */
  onUpdated?(info: { path: string }): void;
  /** The file changed but could not be used; the previous supergraph keeps serving. */
  onRejected?(info: { path: string; error: Error }): void;
}

export interface CreateGatewayOptions {
  supergraph: SupergraphSource;
  log: Logger;
  buildService: (definition: ServiceEndpointDefinition) => SubgraphDataSource;
  queryPlanCacheMiB: number;
  exposeQueryPlan: boolean;
  events?: SupergraphEvents;
}

/** Calls `onChange` (debounced) whenever anything in the file's directory changes; renames included. */
function watchDirectoryOf(file: string, debounceMs: number, onChange: () => void, log: Logger): FSWatcher {
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(path.dirname(file), { persistent: false }, () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
    timer.unref();
  });
  watcher.on('error', (error) => log.error({ err: error, path: file }, 'supergraph watcher failed; changes are no longer picked up'));
  const close = watcher.close.bind(watcher);
  watcher.close = () => {
    if (timer) clearTimeout(timer);
    close();
  };
  return watcher;
}

/**
 * An ApolloGateway on a composed supergraph: never introspection or composition at start-up.
 * With a file source it watches the file; a valid new supergraph replaces the old one for the next
 * operations (in-flight ones finish on the plan they started with), an invalid or half-written one
 * is logged and ignored.
 */
export function createGateway(options: CreateGatewayOptions): ApolloGateway {
  const { supergraph, log, events } = options;
  // @apollo/gateway starts an OpenTelemetry exporter that reports usage to Apollo unless this is
  // set when it is constructed; the router never phones home.
  process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';

  return new ApolloGateway({
    logger: log,
    buildService: options.buildService,
    experimental_approximateQueryPlanStoreMiB: options.queryPlanCacheMiB,
    __exposeQueryPlanExperimental: options.exposeQueryPlan,
    validateSupergraph: true,
    serviceHealthCheck: false,
    supergraphSdl: async ({ update }) => {
      if ('sdl' in supergraph) return { supergraphSdl: supergraph.sdl };
      const file = supergraph.path;
      let current: string;
      try {
        current = await readFile(file, 'utf8');
      } catch (error) {
        throw new Error(`Cannot read the supergraph at ${file}: ${(error as Error).message}`);
      }
      if (!supergraph.watch) return { supergraphSdl: current };

      let reloading: Promise<void> | undefined;
      let again = false;
      const reload = async (): Promise<void> => {
        let next: string;
        try {
          next = await readFile(file, 'utf8');
        } catch (error) {
          // Removed or mid-rename: the next event reloads it.
          events?.onRejected?.({ path: file, error: error as Error });
          return;
        }
        if (next === current) return;
        try {
          if (next.trim() === '') throw new Error('the file is empty');
          update(next);
        } catch (error) {
          log.error({ err: error, path: file }, 'ignoring an invalid supergraph; the previous one keeps serving');
          events?.onRejected?.({ path: file, error: error as Error });
          return;
        }
        current = next;
        log.info({ path: file }, 'supergraph reloaded');
        events?.onUpdated?.({ path: file });
      };
      const schedule = (): void => {
        if (reloading) {
          again = true;
          return;
        }
        reloading = reload()
          .catch((error: unknown) => log.error({ err: error }, 'supergraph reload failed'))
          .finally(() => {
            reloading = undefined;
            if (again) {
              again = false;
              schedule();
            }
          });
      };
      const watcher = watchDirectoryOf(file, supergraph.debounceMs ?? 50, schedule, log);
      return {
        supergraphSdl: current,
        cleanup: async () => {
          watcher.close();
          await reloading;
        },
      };
    },
  });
}

/** `name → url` of each subgraph in a supergraph SDL (its `join__Graph` enum). */
export function subgraphsOf(supergraphSdl: string): { name: string; url: string }[] {
  const found: { name: string; url: string }[] = [];
  for (const match of supergraphSdl.matchAll(/@join__graph\(\s*name:\s*"([^"]*)"\s*,?\s*url:\s*"([^"]*)"\s*\)/g)) {
    found.push({ name: match[1]!, url: match[2]! });
  }
  return found;
}
