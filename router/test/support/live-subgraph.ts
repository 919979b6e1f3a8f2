import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { parse, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { viewerFromHeader, type TokenVerifier, type Viewer } from '../../../subgraphs/kit/src/auth';
import { federated, type RecordedRequest } from './subgraph';

/**
 * In-memory pub/sub whose subscriptions are hand-written async iterators, so the test knows exactly
 * when a subscription starts and ends (graphql-ws calls `return()` on unsubscribe or disconnect).
 */
export class TestPubSub {
  private readonly listeners = new Map<string, Set<(payload: unknown) => void>>();

  constructor(private readonly changed: () => void) {}

  /** Active subscriptions on a topic. */
  count(topic: string): number {
    return this.listeners.get(topic)?.size ?? 0;
  }

  publish(topic: string, payload: unknown): void {
    for (const listener of this.listeners.get(topic) ?? []) listener(payload);
  }

  subscribe<T>(topics: string[]): AsyncIterableIterator<T> {
    const queue: T[] = [];
    let waiting: ((result: IteratorResult<T>) => void) | undefined;
    let done = false;
    const listener = (payload: unknown) => {
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve({ value: payload as T, done: false });
      } else queue.push(payload as T);
    };
    for (const topic of topics) {
      if (!this.listeners.has(topic)) this.listeners.set(topic, new Set());
      this.listeners.get(topic)!.add(listener);
    }
    this.changed();
    const finish = (): Promise<IteratorResult<T>> => {
      if (!done) {
        done = true;
        for (const topic of topics) this.listeners.get(topic)?.delete(listener);
        waiting?.({ value: undefined, done: true });
        waiting = undefined;
        this.changed();
      }
      return Promise.resolve({ value: undefined, done: true });
    };
    return {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (waiting = resolve));
      },
      return: finish,
      throw: finish,
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
}

export interface LiveContext {
  viewer: Viewer | null;
  requestId?: string;
}

export interface LiveSubgraph {
  name: string;
  url: string;
  sdl: string;
  pubsub: TestPubSub;
  /** GraphQL-over-HTTP requests (entity fetches from the router). */
  requests: RecordedRequest[];
  /** connectionParams of every accepted graphql-ws connection, in order. */
  connections: Record<string, unknown>[];
  /** graphql-ws connections open now. */
  openConnections: number;
  /** Subscribe messages received, and operations the subgraph saw end (`complete` from the router, or a disconnect). */
  subscribes: number;
  completes: number;
  /** Resolves once `check()` holds, re-checked whenever anything above changes. */
  until(check: () => boolean): Promise<void>;
  /** Closes the server (every socket dropped) but keeps the port for start(). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A test subgraph like the kit's: buildSubgraphSchema (with a Subscription type) served over HTTP
 * by Apollo Server and over graphql-ws on the same port and `/graphql`. connectionParams
 * `authorization` is verified as the kit does (a bad token refuses the connection) and the viewer
 * is in the context.
 */
export async function startLiveSubgraph(options: {
  name: string;
  typeDefs: string;
  resolvers: GraphQLResolverMap<LiveContext>;
  verifyToken: TokenVerifier;
}): Promise<LiveSubgraph> {
  const sdl = federated(options.typeDefs);
  const schema: GraphQLSchema = buildSubgraphSchema({ typeDefs: parse(sdl), resolvers: options.resolvers as GraphQLResolverMap<unknown> });
  const apollo = new ApolloServer<LiveContext>({ schema, logger: silentLogger, includeStacktraceInErrorResponses: false, stopOnTerminationSignals: false });
  await apollo.start();
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const changed = () => changes.emit('change');

  const state = {
    pubsub: new TestPubSub(changed),
    requests: [] as RecordedRequest[],
    connections: [] as Record<string, unknown>[],
    openConnections: 0,
    subscribes: 0,
    completes: 0,
  };

  let server: http.Server | undefined;
  let disposeWs: (() => Promise<void>) | undefined;
  let port = 0;

  async function start(): Promise<void> {
    const httpServer = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      state.requests.push({ headers: req.headers, query: body?.query, variables: body?.variables, operationName: body?.operationName });
      changed();
      const headers = new HeaderMap();
      for (const [key, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(key, value);
      const response = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method ?? 'POST', headers, search: '', body },
        context: async () => ({ viewer: await viewerFromHeader(req.headers.authorization, options.verifyToken).catch(() => null) }),
      });
      for (const [key, value] of response.headers) res.setHeader(key, value);
      res.statusCode = response.status ?? 200;
      res.end(response.body.kind === 'complete' ? response.body.string : '');
    });
    const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
    const disposable = useServer<{ authorization?: string; requestId?: string }, { viewer: Viewer | null }>(
      {
        schema,
        onConnect: async (ctx) => {
          try {
            ctx.extra.viewer = await viewerFromHeader(ctx.connectionParams?.authorization, options.verifyToken);
          } catch {
            return false;
          }
          state.connections.push({ ...ctx.connectionParams });
          state.openConnections += 1;
          changed();
          return true;
        },
        onDisconnect: () => {
          state.openConnections -= 1;
          changed();
        },
        onSubscribe: () => {
          state.subscribes += 1;
          changed();
        },
        onComplete: () => {
          state.completes += 1;
          changed();
        },
        context: (ctx): LiveContext => ({ viewer: ctx.extra.viewer ?? null, requestId: ctx.connectionParams?.requestId }),
      },
      wsServer,
    );
    await new Promise<void>((resolve) => httpServer.listen(port, '127.0.0.1', resolve));
    port = (httpServer.address() as AddressInfo).port;
    server = httpServer;
    disposeWs = () => disposable.dispose() as Promise<void>;
  }

  async function stop(): Promise<void> {
    const current = server;
    server = undefined;
    if (!current) return;
    await disposeWs?.();
    current.closeAllConnections();
    await new Promise<void>((resolve) => current.close(() => resolve()));
  }

  await start();
  const subgraph: LiveSubgraph = {
    name: options.name,
    url: `http://127.0.0.1:${port}/graphql`,
    sdl,
    pubsub: state.pubsub,
    requests: state.requests,
    connections: state.connections,
    get openConnections() {
      return state.openConnections;
    },
    get subscribes() {
      return state.subscribes;
    },
    get completes() {
      return state.completes;
    },
    until(check) {
      if (check()) return Promise.resolve();
      return new Promise((resolve) => {
        const listener = () => {
          if (!check()) return;
          changes.off('change', listener);
          resolve();
        };
        changes.on('change', listener);
      });
    },
    stop,
    start,
    async close() {
      await stop();
      await apollo.stop();
    },
  };
  return subgraph;
}

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };
