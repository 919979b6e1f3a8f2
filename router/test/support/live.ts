import { EventEmitter } from 'node:events';
import type { ClientRequestArgs } from 'node:http';
import { GraphQLError } from 'graphql';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import type { TokenVerifier } from '../../../subgraphs/kit/src/auth';
import { startRouter, type StartedRouter } from './fixtures';
import { startLiveSubgraph, type LiveContext, type LiveSubgraph } from './live-subgraph';
import { composeSupergraph, startTestSubgraph, type TestSubgraph } from './subgraph';
import { createIssuer, type Issuer } from './tokens';

// ------------------------------------------------------------------------------------------------
// Three subgraphs: orders (Order, Instrument and the subscriptions), payments (Order.payment) and
// users (User.email), so one subscription event needs all three.
// ------------------------------------------------------------------------------------------------

export const LIVE_TYPEDEFS = `
type Query {
  order(id: ID!): Order
}
type Subscription {
  orderUpdated(orderId: ID!): Order!
  priceUpdated(symbols: [String!]!): Instrument!
}
type Order @key(fields: "id") {
  id: ID!
  status: String!
  user: User!
}
type User @key(fields: "id", resolvable: false) {
  id: ID!
}
type Instrument @key(fields: "symbol") {
  symbol: String!
  price: String!
}
`;

/** Who owns which order. */
export const ORDER_OWNERS: Record<string, string> = { o1: 'u1', o2: 'u2' };

export interface OrderEvent {
  id: string;
  status: string;
}

export async function startOrders(verifyToken: TokenVerifier): Promise<LiveSubgraph> {
  let subgraph: LiveSubgraph | undefined;
  const order = (id: string, status = 'PLACED') => ({ id, status, userId: ORDER_OWNERS[id] });
  subgraph = await startLiveSubgraph({
    name: 'orders',
    typeDefs: LIVE_TYPEDEFS,
    verifyToken,
    resolvers: {
      Query: {
        order: (_: unknown, { id }: { id: string }) => (ORDER_OWNERS[id] ? order(id) : null),
      },
      Subscription: {
        orderUpdated: {
          // The subgraph enforces ownership itself, as the real orders subgraph does.
          subscribe: (_: unknown, { orderId }: { orderId: string }, context: LiveContext) => {
            if (!context.viewer) throw new GraphQLError('Sign in first', { extensions: { code: 'UNAUTHENTICATED' } });
            const owner = ORDER_OWNERS[orderId];
            if (!owner) throw new GraphQLError(`Order ${orderId} not found`, { extensions: { code: 'NOT_FOUND' } });
            if (owner !== context.viewer.id) throw new GraphQLError('Not your order', { extensions: { code: 'FORBIDDEN' } });
            return subgraph!.pubsub.subscribe([`order:${orderId}`]);
          },
          resolve: (event: OrderEvent) => order(event.id, event.status),
        },
        priceUpdated: {
          subscribe: (_: unknown, { symbols }: { symbols: string[] }) => subgraph!.pubsub.subscribe(symbols.map((symbol) => `price:${symbol}`)),
          resolve: (tick: { symbol: string; price: string }) => tick,
        },
      },
      Order: {
        __resolveReference: ({ id }: { id: string }) => order(id),
        user: (parent: { userId: string }) => ({ id: parent.userId }),
      },
      Instrument: {
        __resolveReference: ({ symbol }: { symbol: string }) => ({ symbol, price: '0' }),
      },
    },
  });
  return subgraph;
}

export interface Payments extends TestSubgraph {
  /** Payment status per order id; change it between events. */
  statuses: Map<string, string>;
}

export async function startPayments(): Promise<Payments> {
  const statuses = new Map([
    ['o1', 'PENDING'],
    ['o2', 'PENDING'],
  ]);
  const subgraph = await startTestSubgraph({
    name: 'payments',
    typeDefs: `
type Order @key(fields: "id") {
  id: ID!
  payment: Payment
}
type Payment {
  status: String!
}
`,
    resolvers: {
      Order: {
        __resolveReference: ({ id }: { id: string }) => ({ id, payment: statuses.has(id) ? { status: statuses.get(id) } : null }),
      },
    },
  });
  return Object.assign(subgraph, { statuses });
}

/** `User.name` is served but left out of the supergraph by `withoutName` (an older supergraph). */
export const USERS_TYPEDEFS = `
type User @key(fields: "id") {
  id: ID!
  email: String!
  name: String!
}
`;

export const withoutName = (sdl: string): string => sdl.replace(/\n\s*name: String!/, '');

export async function startUsers(): Promise<TestSubgraph> {
  return startTestSubgraph({
    name: 'users',
    typeDefs: USERS_TYPEDEFS,
    resolvers: {
      User: {
        __resolveReference: ({ id }: { id: string }) => ({ id, email: `${id}@example.com`, name: `User ${id}` }),
      },
    },
  });
}

export interface LiveStack {
  orders: LiveSubgraph;
  payments: Payments;
  users: TestSubgraph;
  issuer: Issuer;
  supergraphSdl: string;
  started: StartedRouter;
  /** `ws://127.0.0.1:port/graphql` */
  wsUrl: string;
  token(userId: string): Promise<string>;
  close(): Promise<void>;
}

/** The three subgraphs and a router on them (router env added to the test defaults). */
export async function startLiveStack(env: Record<string, string> = {}): Promise<LiveStack> {
  const issuer = await createIssuer();
  const orders = await startOrders(issuer.verifyToken);
  const payments = await startPayments();
  const users = await startUsers();
  const supergraphSdl = composeSupergraph([orders, payments, users]);
  const started = await startRouter({ supergraphSdl, verifyToken: issuer.verifyToken, env });
  return {
    orders,
    payments,
    users,
    issuer,
    supergraphSdl,
    started,
    wsUrl: started.url.replace(/^http/, 'ws'),
    token: (userId) => issuer.sign(userId),
    async close() {
      await started.router.close();
      await orders.close();
      await payments.close();
      await users.close();
    },
  };
}

// ------------------------------------------------------------------------------------------------
// The real graphql-ws client.
// ------------------------------------------------------------------------------------------------

/**
 * A graphql-ws client on the router (no retries: a refused or dropped socket is the test's
 * business). `headers` go on the upgrade request, as a server-side client can send them.
 */
export function wsClient(url: string, options: { token?: string; connectionParams?: Record<string, unknown>; headers?: Record<string, string> } = {}): Client {
  const { headers } = options;
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: headers
      ? class extends WebSocket {
          constructor(address: string, protocols?: string | string[], socketOptions?: ClientRequestArgs) {
            super(address, protocols, { ...socketOptions, headers });
          }
        }
      : WebSocket,
    retryAttempts: 0,
    connectionParams: options.connectionParams ?? (options.token ? { authorization: `Bearer ${options.token}` } : undefined),
  });
}

export interface RecordedSubscription {
  results: FormattedExecutionResult<Record<string, unknown>, unknown>[];
  /** Set once the subscription completed or failed. */
  outcome: { completed: true } | { error: unknown } | undefined;
  /** Resolves with the `count`-th result (1-based), waiting for it. */
  result(count: number): Promise<FormattedExecutionResult<Record<string, unknown>, unknown>>;
  /** Resolves once the subscription completed or failed. */
  ended(): Promise<{ completed: true } | { error: unknown }>;
  unsubscribe(): void;
}

/** Subscribes and records every result, the completion or the error. */
export function record(client: Client, query: string, variables?: Record<string, unknown>, extensions?: Record<string, unknown>): RecordedSubscription {
  const changes = new EventEmitter();
  const recorded: RecordedSubscription = {
    results: [],
    outcome: undefined,
    result(count) {
      return until(changes, () => recorded.results.length >= count || recorded.outcome !== undefined).then(() => {
        if (recorded.results.length < count) throw new Error(`ended after ${recorded.results.length} results: ${JSON.stringify(recorded.outcome)}`);
        return recorded.results[count - 1]!;
      });
    },
    ended() {
      return until(changes, () => recorded.outcome !== undefined).then(() => recorded.outcome!);
    },
    unsubscribe: () => undefined,
  };
  recorded.unsubscribe = client.subscribe<Record<string, unknown>>(
    { query, variables, extensions },
    {
      next(result) {
        recorded.results.push(result);
        changes.emit('change');
      },
      error(error) {
        recorded.outcome = { error };
        changes.emit('change');
      },
      complete() {
        recorded.outcome ??= { completed: true };
        changes.emit('change');
      },
    },
  );
  return recorded;
}

/** Resolves once `check()` holds, re-checked on every `change` event of `emitter`. */
export function until(emitter: EventEmitter, check: () => boolean, event = 'change'): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve) => {
    const listener = () => {
      if (!check()) return;
      emitter.off(event, listener);
      resolve();
    };
    emitter.on(event, listener);
  });
}

/** Resolves once the router's subscription stats satisfy `check`, re-checked as operations start and end. */
export function untilRouter(started: StartedRouter, check: (stats: ReturnType<StartedRouter['router']['subscriptions']['stats']>) => boolean): Promise<void> {
  const { subscriptions } = started.router;
  const test = () => check(subscriptions.stats());
  if (test()) return Promise.resolve();
  return new Promise((resolve) => {
    const listener = () => {
      if (!test()) return;
      subscriptions.events.off('started', listener);
      subscriptions.events.off('completed', listener);
      resolve();
    };
    subscriptions.events.on('started', listener);
    subscriptions.events.on('completed', listener);
  });
}

export const ORDER_SUBSCRIPTION = `
subscription OrderUpdated($id: ID!) {
  orderUpdated(orderId: $id) {
    status
    payment { status }
    user { email }
  }
}
`;

export const PRICE_SUBSCRIPTION = `
subscription Prices($symbols: [String!]!) {
  priceUpdated(symbols: $symbols) {
    symbol
    price
  }
}
`;
