import { randomUUID } from 'node:crypto';
import { createLogger, createTokenVerifier } from '../../kit/src';
import type { EventEnvelope } from '../../kit/src/events';
import { testEnvelope } from '../../kit/src/events/testing';
import { graphqlRequest, testDatabaseUrl, TestIssuer, type GraphQLResponse } from '../../kit/src/testing';
import { readOrdersConfig } from '../src/config';
import { createOrdersServer, type OrdersServer } from '../src/server';

export const CUSTOMER_ID = '22222222-2222-4222-8222-222222222222';
export const OTHER_ID = '33333333-3333-4333-8333-333333333333';
export const ADMIN_ID = '11111111-1111-4111-8111-111111111111';

export const MONEY = 'amount currency';
export const CART_FIELDS = `id lines { product { id } quantity unitPrice { ${MONEY} } lineTotal { ${MONEY} } } total { ${MONEY} }`;
export const ORDER_FIELDS = `id status cancelReason total { ${MONEY} } createdAt trackingNumber user { id }
  lines { product { id } quantity unitPrice { ${MONEY} } lineTotal { ${MONEY} } }
  history { status at reason }`;

export const ADD_TO_CART = `mutation($productId: ID!, $quantity: Int!) { addToCart(productId: $productId, quantity: $quantity) { ${CART_FIELDS} } }`;
export const UPDATE_CART_LINE = `mutation($productId: ID!, $quantity: Int!) { updateCartLine(productId: $productId, quantity: $quantity) { ${CART_FIELDS} } }`;
export const REMOVE_CART_LINE = `mutation($productId: ID!) { removeCartLine(productId: $productId) { ${CART_FIELDS} } }`;
export const CART = `{ cart { ${CART_FIELDS} } }`;
export const CHECKOUT = `mutation($input: CheckoutInput!) { checkout(input: $input) { ${ORDER_FIELDS} } }`;
export const ORDER = `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`;
export const CANCEL = `mutation($id: ID!) { cancelOrder(id: $id) { ${ORDER_FIELDS} } }`;
export const SHIP = `mutation($id: ID!, $trackingNumber: String!) { shipOrder(id: $id, trackingNumber: $trackingNumber) { ${ORDER_FIELDS} } }`;
export const MARK_DELIVERED = `mutation($id: ID!) { markDelivered(id: $id) { ${ORDER_FIELDS} } }`;

export interface TestProduct {
  productId: string;
  sku: string;
  /** Null: a ProductChanged from before catalog sent names. */
  name: string | null;
  kind: 'INDICATOR' | 'PLAN' | 'GOOD';
  priceAmount: number;
  currency: string;
  active: boolean;
}

export type Table = 'product_snapshot' | 'cart' | 'cart_line' | 'orders' | 'order_line' | 'order_history' | 'order_return' | 'outbox' | 'inbox';

export interface OutboxRow {
  type: string;
  subject: string;
  source: string;
  data: Record<string, any>;
}

/** One orders server on port 0 over a fresh database, with tokens and direct access to its event handlers. */
export interface OrdersHarness {
  server: OrdersServer;
  url: string;
  issuer: TestIssuer;
  customer: string;
  other: string;
  admin: string;
  request<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
  /** Applies an event through the server's handler, inside a transaction as the consumer does (after-commit work included). */
  deliver(envelope: EventEnvelope): Promise<void>;
  /** A new envelope of `type` (random id, occurred now unless given). */
  envelope(type: string, data: Record<string, unknown>, options?: { occurredAt?: Date; source?: string; subject?: string }): EventEnvelope;
  /** Delivers a ProductChanged for a new product (or the given one) and returns it. */
  product(overrides?: Partial<TestProduct>, occurredAt?: Date): Promise<TestProduct>;
  /** Adds to the cart and checks out; returns the order as the API shows it. */
  placeOrder(items: { productId: string; quantity: number }[], token?: string, key?: string): Promise<Record<string, any>>;
  sql<T = Record<string, any>>(query: string, params?: unknown[]): Promise<T[]>;
  count(table: Table, where?: string, params?: unknown[]): Promise<number>;
  outbox(type?: string, subject?: string): Promise<OutboxRow[]>;
  close(): Promise<void>;
}

export async function startOrders(env: Record<string, string> = {}): Promise<OrdersHarness> {
  const database = testDatabaseUrl('orders');
  const issuer = await TestIssuer.create();
  const config = readOrdersConfig({
    DATABASE_URL: database.url,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    EVENTS_ENABLED: 'false',
    // Channels of its own, so parallel test files never hear each other.
    PUBSUB_PREFIX: `test:orders:${randomUUID()}:`,
    ...env,
  });
  let server: OrdersServer;
  try {
    server = await createOrdersServer({ config, log: createLogger('orders-test', 'silent'), verifyToken: createTokenVerifier(issuer.keys) });
  } catch (error) {
    await database.drop();
    throw error;
  }
  const url = await server.listen(0);
  // A status change published before Redis answered would be dropped (latest-value pub/sub).
  await server.pubsub.ready();
  const customer = await issuer.sign(CUSTOMER_ID, 'CUSTOMER');
  const request = <T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string) =>
    graphqlRequest<T>(url, query, { variables, token });
  const sql = <T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> => server.orm.em.fork().getConnection().execute(query, params);

  const harness: OrdersHarness = {
    server,
    url,
    issuer,
    customer,
    other: await issuer.sign(OTHER_ID, 'CUSTOMER'),
    admin: await issuer.sign(ADMIN_ID, 'ADMIN'),
    request,
    async deliver(envelope) {
      const handler = server.handlers[envelope.type];
      if (!handler) throw new Error(`no handler for ${envelope.type}`);
      const afterCommit: (() => Promise<void>)[] = [];
      await server.orm.em.fork().transactional((em) => {
        afterCommit.length = 0;
        return handler(em, envelope, { afterCommit: (work) => afterCommit.push(work) });
      });
      for (const work of afterCommit) await work();
    },
    envelope(type, data, options = {}) {
      return testEnvelope(type, options.source ?? 'test', options.subject ?? String(data.orderId ?? data.productId ?? ''), data, options.occurredAt);
    },
    async product(overrides = {}, occurredAt) {
      const productId = overrides.productId ?? randomUUID();
      const product: TestProduct = {
        productId,
        sku: `GOOD-${productId.slice(0, 8).toUpperCase()}`,
        name: 'Test product',
        kind: 'GOOD',
        priceAmount: 1000,
        currency: 'USD',
        active: true,
        ...overrides,
      };
      await harness.deliver(harness.envelope('ProductChanged', { ...product }, { occurredAt, source: 'catalog' }));
      return product;
    },
    async placeOrder(items, token = customer, key = `key-${randomUUID()}`) {
      for (const item of items) {
        const added = await request(ADD_TO_CART, item, token);
        if (added.errors) throw new Error(`addToCart failed: ${JSON.stringify(added.errors)}`);
      }
      const placed = await request(CHECKOUT, { input: { idempotencyKey: key, paymentMethod: 'card-visa' } }, token);
      if (placed.errors) throw new Error(`checkout failed: ${JSON.stringify(placed.errors)}`);
      return placed.data!.checkout;
    },
    sql,
    async count(table, where = 'true', params = []) {
      const [row] = await sql<{ n: number }>(`select count(*)::int as n from "${table}" where ${where}`, params);
      return row!.n;
    },
    async outbox(type, subject) {
      const rows = await sql<OutboxRow>(
        'select "type", "subject", "source", "data" from "outbox" where (?::text is null or "type" = ?) and (?::text is null or "subject" = ?) order by "occurred_at", "id"',
        [type ?? null, type ?? null, subject ?? null, subject ?? null],
      );
      return rows;
    },
    async close() {
      try {
        await server.close();
      } finally {
        await database.drop();
      }
    },
  };
  return harness;
}

/** The extension code of the first error, for compact assertions. */
export const errorCode = (response: GraphQLResponse): unknown => response.errors?.[0]?.extensions?.code;
