import { createClient, type Client } from 'graphql-ws';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { AppError } from '../../../subgraphs/kit/src/errors';
import { subgraphError, type UpstreamEvent } from './execute';

/** One subscription on a subgraph: what identifies it, and what the subgraph is told about the caller. */
export interface FeedSpec {
  serviceName: string;
  /** The subgraph's graphql-ws URL (`ws://…/graphql`). */
  url: string;
  query: string;
  operationName?: string;
  /** Only the variables the primary fetch uses. */
  variables: Record<string, unknown>;
  /** Forwarded in connectionParams; undefined subscribes anonymously. Part of the sharing key. */
  authorization?: string;
  /** Forwarded in connectionParams of a new upstream connection (the subgraph logs with it). */
  requestId: string;
}

/** Who receives a feed's events. */
export interface FeedListener {
  next(event: UpstreamEvent): void;
  /** The feed is over: the subgraph completed it, refused it, or could not be reached in time (`errors`). */
  end(errors?: readonly GraphQLError[]): void;
}

export interface UpstreamPoolOptions {
  log: Logger;
  /** How long a dropped feed keeps reconnecting before its listeners get UPSTREAM_UNAVAILABLE. */
  reconnectMaxMs: number;
  /** graphql-ws ping interval to subgraphs; a connection that misses a pong for as long is dropped. 0 = off. */
  keepAliveMs: number;
  /** Time to open a socket and get `connection_ack`. */
  connectTimeoutMs: number;
  /** First reconnect delay; doubles per failed attempt (with jitter) up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Deterministic JSON (sorted object keys): equal variables give equal keys whatever their order. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, nested: unknown) => {
    if (nested === null || typeof nested !== 'object' || Array.isArray(nested)) return nested;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(nested).sort()) sorted[key] = (nested as Record<string, unknown>)[key];
    return sorted;
  });
}

export function feedKey(spec: FeedSpec): string {
  return stableStringify([spec.serviceName, spec.url, spec.operationName ?? null, spec.query, spec.variables, spec.authorization ?? null]);
}

/** Close codes after which retrying cannot help: the subgraph refused the connection or the operation. */
const REFUSED = new Set([4400, 4004, 4005, 4406, 4409, 4429, 4500]);
const UNAUTHORIZED = new Set([4401, 4403]);

/**
 * Sorts what graphql-ws reports to a sink's `error`: GraphQL errors from the subgraph and refusals
 * end the feed (returned as the errors to report); a dropped or unreachable socket returns
 * undefined (reconnect).
 */
function fatalErrors(error: unknown, serviceName: string): GraphQLError[] | undefined {
  if (Array.isArray(error)) return (error as GraphQLFormattedError[]).map((one) => subgraphError(one, serviceName));
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'number') return undefined;
  if (UNAUTHORIZED.has(code)) {
    return [new AppError('UNAUTHENTICATED', `Subgraph ${serviceName} refused the subscription's credentials`, { serviceName })];
  }
  if (REFUSED.has(code)) {
    return [new AppError('UPSTREAM_UNAVAILABLE', `Subgraph ${serviceName} closed the subscription`, { serviceName, reason: `close code ${code}` })];
  }
  return undefined;
}

function describe(error: unknown): string {
  const { code, reason, message } = (error ?? {}) as { code?: unknown; reason?: unknown; message?: unknown };
  if (typeof code === 'number') return `closed ${code}${reason ? ` ${String(reason)}` : ''}`;
  if (typeof message === 'string' && message) return message;
  return (error as { error?: { code?: string } } | null)?.error?.code ?? 'socket error';
}

/** ws with a handshake timeout, so connecting to a host that never answers fails instead of hanging. */
function socketWithTimeout(handshakeTimeout: number) {
  return class UpstreamSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { handshakeTimeout, perMessageDeflate: false });
    }
  };
}

/** One graphql-ws connection to a subgraph, per URL and Authorization; carries every feed with both. */
class Connection {
  readonly client: Client;
  readonly feeds = new Set<Feed>();
  private pongTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly key: string,
    spec: FeedSpec,
    options: UpstreamPoolOptions,
  ) {
    const { keepAliveMs } = options;
    const clearPong = () => this.clearPong();
    this.client = createClient({
      url: spec.url,
      webSocketImpl: socketWithTimeout(options.connectTimeoutMs),
      // The socket opens with the first subscription and closes with the last one.
      lazy: true,
      // Feeds reconnect themselves (with backoff and a bound); the client reports every drop.
      retryAttempts: 0,
      connectionAckWaitTimeout: options.connectTimeoutMs,
      keepAlive: keepAliveMs,
      connectionParams: { ...(spec.authorization ? { authorization: spec.authorization } : {}), requestId: spec.requestId },
      on: {
        connected: () => {
          for (const feed of [...this.feeds]) feed.recovered();
        },
        ping: (received) => {
          if (received || keepAliveMs <= 0) return;
          clearPong();
          // A connection that stops answering is dropped; its feeds reconnect.
          this.pongTimer = setTimeout(() => this.client.terminate(), keepAliveMs);
          this.pongTimer.unref();
        },
        pong: (received) => {
          if (received) clearPong();
        },
        closed: clearPong,
      },
    });
  }

  private clearPong(): void {
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
  }

  dispose(): void {
    this.clearPong();
    void Promise.resolve(this.client.dispose()).catch(() => undefined);
  }
}

/** One upstream subscription shared by every listener with the same FeedSpec key. */
class Feed {
  readonly listeners = new Set<FeedListener>();
  ended = false;
  private unsubscribe: (() => void) | undefined;
  private generation = 0;
  private attempts = 0;
  private downSince: number | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private giveUpTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly key: string,
    readonly spec: FeedSpec,
    readonly connection: Connection,
    private readonly pool: UpstreamPool,
    private readonly log: Logger,
  ) {}

  subscribe(): void {
    const generation = ++this.generation;
    const current = () => generation === this.generation && !this.ended;
    const { query, operationName, variables } = this.spec;
    this.unsubscribe = this.connection.client.subscribe<Record<string, unknown>>(
      { query, variables, ...(operationName ? { operationName } : {}) },
      {
        next: (result) => {
          if (!current()) return;
          for (const listener of [...this.listeners]) listener.next(result);
        },
        error: (error) => {
          if (!current()) return;
          this.unsubscribe = undefined;
          this.failed(error);
        },
        complete: () => {
          if (current()) this.finish();
        },
      },
    );
  }

  /** The connection is (back) up: the next drop starts a new reconnect window. */
  recovered(): void {
    if (this.downSince !== undefined) this.log.info({ downMs: Date.now() - this.downSince }, 'upstream subscription resumed');
    this.attempts = 0;
    this.downSince = undefined;
    if (this.giveUpTimer) clearTimeout(this.giveUpTimer);
    this.giveUpTimer = undefined;
  }

  private failed(error: unknown): void {
    const fatal = fatalErrors(error, this.spec.serviceName);
    if (fatal) {
      this.log.warn({ reason: describe(error) }, 'upstream subscription refused');
      this.finish(fatal);
      return;
    }
    const { reconnectMaxMs } = this.pool.options;
    if (this.downSince === undefined) {
      this.downSince = Date.now();
      this.log.warn({ reason: describe(error), reconnectMaxMs }, 'upstream subscription dropped; reconnecting');
      // The bound holds whatever a connection attempt does (a host that never answers included).
      this.giveUpTimer = setTimeout(() => this.giveUp(), reconnectMaxMs);
    }
    const initial = this.pool.options.initialBackoffMs ?? 100;
    const max = this.pool.options.maxBackoffMs ?? 5_000;
    const base = Math.min(initial * 2 ** this.attempts, max);
    this.attempts += 1;
    const delay = base / 2 + Math.random() * (base / 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.ended) this.subscribe();
    }, delay);
  }

  private giveUp(): void {
    if (this.ended) return;
    const { reconnectMaxMs } = this.pool.options;
    this.log.error({ reconnectMaxMs }, 'upstream subscription could not be resumed; ending it');
    const name = this.spec.serviceName;
    this.finish([new AppError('UPSTREAM_UNAVAILABLE', `Subgraph ${name} is unavailable`, { serviceName: name, reason: `not reachable for ${reconnectMaxMs} ms` })]);
  }

  /** Ends the feed and tells its listeners (`errors` when it failed). */
  finish(errors?: readonly GraphQLError[]): void {
    if (this.ended) return;
    this.stop();
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener.end(errors);
  }

  /** Ends the feed without telling anyone: completes the upstream subscription, frees the connection. */
  stop(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.giveUpTimer) clearTimeout(this.giveUpTimer);
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    // Sends `complete` to the subgraph; the client closes the socket when no subscription is left.
    unsubscribe?.();
    this.pool.forget(this);
  }
}

/**
 * The router's subscriptions on subgraphs. Identical subscriptions (same subgraph, operation,
 * variables and forwarded Authorization) share one upstream subscription, and everything with the
 * same subgraph and Authorization shares one graphql-ws connection. Reference counted: the last
 * listener to leave completes the upstream subscription, and the connection closes once it carries
 * none. A dropped subscription reconnects with exponential backoff; if it cannot for
 * `reconnectMaxMs`, its listeners get UPSTREAM_UNAVAILABLE and the feed ends.
 */
export class UpstreamPool {
  private readonly connections = new Map<string, Connection>();
  private readonly feeds = new Map<string, Feed>();

  constructor(readonly options: UpstreamPoolOptions) {}

  /** Subscribes `listener` to the feed (opening it if needed); returns the release function. */
  acquire(spec: FeedSpec, listener: FeedListener): () => void {
    const key = feedKey(spec);
    let feed = this.feeds.get(key);
    if (!feed) {
      const connectionKey = `${spec.url}\n${spec.authorization ?? ''}`;
      let connection = this.connections.get(connectionKey);
      if (!connection) {
        connection = new Connection(connectionKey, spec, this.options);
        this.connections.set(connectionKey, connection);
      }
      const log = this.options.log.child({ subgraph: spec.serviceName, upstreamRequestId: spec.requestId });
      feed = new Feed(key, spec, connection, this, log);
      connection.feeds.add(feed);
      this.feeds.set(key, feed);
      feed.subscribe();
    }
    const joined = feed;
    joined.listeners.add(listener);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      joined.listeners.delete(listener);
      if (joined.listeners.size === 0) joined.stop();
    };
  }

  /** Called by a feed that ended. */
  forget(feed: Feed): void {
    if (this.feeds.get(feed.key) === feed) this.feeds.delete(feed.key);
    const { connection } = feed;
    connection.feeds.delete(feed);
    if (connection.feeds.size === 0) {
      if (this.connections.get(connection.key) === connection) this.connections.delete(connection.key);
      connection.dispose();
    }
  }

  /** Open upstream subscriptions and connections. */
  stats(): { subscriptions: number; connections: number } {
    return { subscriptions: this.feeds.size, connections: this.connections.size };
  }

  /** Completes every upstream subscription and closes every connection (listeners are not told). */
  close(): void {
    for (const feed of [...this.feeds.values()]) feed.stop();
    for (const connection of [...this.connections.values()]) connection.dispose();
    this.connections.clear();
  }
}
