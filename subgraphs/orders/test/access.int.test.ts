import { randomUUID } from 'node:crypto';
import { onSql } from '../../kit/src';
import type { GraphQLResponse } from '../../kit/src/testing';
import { ADD_TO_CART, CANCEL, REMOVE_CART_LINE, CART_FIELDS, CUSTOMER_ID, errorCode, ORDER, OTHER_ID, startOrders, type OrdersHarness, type TestProduct } from './harness';

const USER_ORDERS = `query($r: [_Any!]!, $first: Int, $after: String) {
  _entities(representations: $r) { ... on User { id orders(first: $first, after: $after) { edges { cursor node { id status total { amount } } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }
}`;
const USER_CART = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id cart { ${CART_FIELDS} } } } }`;
const ORDER_ENTITIES = `query($r: [_Any!]!) {
  _entities(representations: $r) { ... on Order { id status lines { product { id } quantity } history { status } user { id } } }
}`;

describe('who sees what', () => {
  let h: OrdersHarness;
  let product: TestProduct;
  let mine: Record<string, any>;

  const user = (id: string) => ({ __typename: 'User', id });

  beforeAll(async () => {
    h = await startOrders();
    product = await h.product({ priceAmount: 1000 });
    mine = await h.placeOrder([{ productId: product.productId, quantity: 1 }]);
  });

  afterAll(async () => {
    await h?.close();
  });

  describe('order(id)', () => {
    it('shows the owner and ADMINs the order', async () => {
      expect((await h.request(ORDER, { id: mine.id }, h.customer)).data!.order).toMatchObject({ id: mine.id, user: { id: CUSTOMER_ID } });
      expect((await h.request(ORDER, { id: mine.id }, h.admin)).data!.order).toMatchObject({ id: mine.id });
    });

    it('answers NOT_FOUND to another customer, exactly as for an unknown id', async () => {
      const theirs = await h.request(ORDER, { id: mine.id }, h.other);
      const unknown = await h.request(ORDER, { id: randomUUID() }, h.other);
      expect(errorCode(theirs)).toBe('NOT_FOUND');
      expect(errorCode(unknown)).toBe('NOT_FOUND');
      expect(theirs.data?.order ?? null).toBeNull();
    });

    it('refuses anonymous callers and malformed ids', async () => {
      expect(errorCode(await h.request(ORDER, { id: mine.id }))).toBe('UNAUTHENTICATED');
      expect(errorCode(await h.request(ORDER, { id: 'not-a-uuid' }, h.customer))).toBe('BAD_USER_INPUT');
    });
  });

  describe('cancelOrder', () => {
    it('answers NOT_FOUND to another customer and FORBIDDEN to an ADMIN, changing nothing', async () => {
      const placed = await h.placeOrder([{ productId: product.productId, quantity: 1 }]);
      expect(errorCode(await h.request(CANCEL, { id: placed.id }, h.other))).toBe('NOT_FOUND');
      expect(errorCode(await h.request(CANCEL, { id: placed.id }, h.admin))).toBe('FORBIDDEN');
      expect(errorCode(await h.request(CANCEL, { id: placed.id }))).toBe('UNAUTHENTICATED');
      expect((await h.request(ORDER, { id: placed.id }, h.customer)).data!.order.status).toBe('PENDING');
      expect(await h.outbox('OrderCancelled', placed.id)).toEqual([]);
    });
  });

  describe('_entities', () => {
    it('resolves User.orders for the user themself and ADMINs, FORBIDDEN for anyone else', async () => {
      const own = await h.request(USER_ORDERS, { r: [user(CUSTOMER_ID)] }, h.customer);
      expect(own.errors).toBeUndefined();
      expect(own.data!._entities[0].orders.edges.map((edge: { node: { id: string } }) => edge.node.id)).toContain(mine.id);
      const asAdmin = await h.request(USER_ORDERS, { r: [user(CUSTOMER_ID)] }, h.admin);
      expect(asAdmin.data!._entities[0].orders.edges.length).toBeGreaterThan(0);

      const someoneElse = await h.request(USER_ORDERS, { r: [user(CUSTOMER_ID)] }, h.other);
      expect(errorCode(someoneElse)).toBe('FORBIDDEN');
      expect(JSON.stringify(someoneElse.data)).not.toContain(mine.id);
      expect(errorCode(await h.request(USER_ORDERS, { r: [user(CUSTOMER_ID)] }))).toBe('UNAUTHENTICATED');
    });

    it('resolves User.cart only for the user themself', async () => {
      await h.request(ADD_TO_CART, { productId: product.productId, quantity: 2 }, h.customer);
      const own = await h.request(USER_CART, { r: [user(CUSTOMER_ID)] }, h.customer);
      expect(own.errors).toBeUndefined();
      expect(own.data!._entities[0].cart).toMatchObject({ lines: [{ product: { id: product.productId }, quantity: 2 }], total: { amount: 2000 } });

      for (const token of [h.other, h.admin, undefined]) {
        const result = await h.request(USER_CART, { r: [user(CUSTOMER_ID)] }, token);
        expect(result.errors).toBeUndefined();
        expect(result.data!._entities[0]).toEqual({ id: CUSTOMER_ID, cart: null });
      }
      await h.request(REMOVE_CART_LINE, { productId: product.productId }, h.customer);
    });

    it('resolves Order references for the owner only (null for others), batching lines and history', async () => {
      const ids = [mine.id];
      for (let index = 0; index < 4; index += 1) ids.push((await h.placeOrder([{ productId: product.productId, quantity: index + 1 }])).id);
      const representations = [...ids, randomUUID()].map((id) => ({ __typename: 'Order', id }));

      const statements: string[] = [];
      const stop = onSql(h.server.orm, (sql) => statements.push(sql));
      let own;
      try {
        own = await h.request(ORDER_ENTITIES, { r: representations }, h.customer);
      } finally {
        stop();
      }
      expect(own.errors).toBeUndefined();
      expect(own.data!._entities.map((entity: { id: string } | null) => entity?.id ?? null)).toEqual([...ids, null]);
      expect(own.data!._entities[1]).toMatchObject({ status: 'PENDING', lines: [{ product: { id: product.productId }, quantity: 1 }], history: [{ status: 'PENDING' }], user: { id: CUSTOMER_ID } });
      expect(statements.filter((sql) => /from "order_line"/.test(sql))).toHaveLength(1);
      expect(statements.filter((sql) => /from "order_history"/.test(sql))).toHaveLength(1);
      expect(statements.filter((sql) => /from "orders"/.test(sql))).toHaveLength(1);

      const others = await h.request(ORDER_ENTITIES, { r: representations }, h.other);
      expect(others.data!._entities).toEqual(representations.map(() => null));
    });
  });

  describe('User.orders pagination', () => {
    it('pages newest first with opaque cursors until the end', async () => {
      const userId = randomUUID();
      const token = await h.issuer.sign(userId, 'CUSTOMER');
      const placed: string[] = [];
      for (let index = 0; index < 7; index += 1) placed.push((await h.placeOrder([{ productId: product.productId, quantity: 1 }], token)).id);
      const newestFirst = [...placed].reverse();

      const seen: string[] = [];
      let after: string | null = null;
      const pages: boolean[] = [];
      for (;;) {
        const result: GraphQLResponse = await h.request(USER_ORDERS, { r: [user(userId)], first: 3, after }, token);
        expect(result.errors).toBeUndefined();
        const connection = result.data!._entities[0].orders;
        seen.push(...connection.edges.map((edge: { node: { id: string } }) => edge.node.id));
        expect(connection.pageInfo.hasPreviousPage).toBe(after !== null);
        expect(connection.pageInfo.endCursor).toBe(connection.edges[connection.edges.length - 1]?.cursor ?? null);
        pages.push(connection.pageInfo.hasNextPage);
        if (!connection.pageInfo.hasNextPage) break;
        after = connection.pageInfo.endCursor;
      }
      expect(seen).toEqual(newestFirst);
      expect(pages).toEqual([true, true, false]);
    });

    it('returns an empty page for a user without orders', async () => {
      const userId = randomUUID();
      const result = await h.request(USER_ORDERS, { r: [user(userId)] }, await h.issuer.sign(userId, 'CUSTOMER'));
      expect(result.data!._entities[0].orders).toEqual({
        edges: [],
        pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
      });
    });

    it.each([
      ['first 0', { first: 0 }],
      ['first 101', { first: 101 }],
      ['a garbage cursor', { after: 'not-a-cursor' }],
      ['a tampered cursor', { after: Buffer.from(JSON.stringify({ t: 'yesterday', i: OTHER_ID })).toString('base64url') }],
    ])('refuses %s with BAD_USER_INPUT', async (_name, variables) => {
      const result = await h.request(USER_ORDERS, { r: [user(CUSTOMER_ID)], ...variables }, h.customer);
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
    });
  });

  it('serves health and readiness', async () => {
    const base = h.url.replace('/graphql', '');
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok', service: 'orders' });
    expect(await (await fetch(`${base}/ready`)).json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
  });
});
