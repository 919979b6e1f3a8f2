import { randomUUID } from 'node:crypto';
import { errorCode } from './support/harness';
import { BALANCES, CANCEL, cid, ORDER, PLACE, startOrdersHarness, type OrdersHarness } from './support/orders-harness';

const ORDERS = `query($filter: TradeOrdersFilter, $first: Int, $after: String) {
  tradeOrders(filter: $filter, first: $first, after: $after) { edges { cursor node { id symbol side status } } pageInfo { hasNextPage hasPreviousPage endCursor } }
}`;
const USER_ORDERS = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id tradeOrders(first: 10) { edges { node { id } } } } } }`;
const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on TradeOrder { id status } ... on ExchangeAccount { id label } } }`;
const UNLINK = `mutation($id: ID!) { unlinkExchangeAccount(id: $id) { id } }`;

/** A user sees and acts on their own accounts and orders only; to anyone else they do not exist. */
describe('who sees trade orders and accounts', () => {
  let h: OrdersHarness;
  const ownerId = randomUUID();
  let owner: string;
  let stranger: string;
  let admin: string;
  let accountId: string;
  let orderIds: string[];

  beforeAll(async () => {
    h = await startOrdersHarness('trade_access');
    owner = await h.token(ownerId);
    stranger = await h.token(randomUUID());
    admin = await h.token(randomUUID(), 'ADMIN');
    await h.prices('BTC/USDT', '100');
    accountId = await h.linkPaper(owner);
    orderIds = [];
    for (const [index, symbol] of ['BTC/USDT', 'ETH/USDT', 'BTC/USDT'].entries()) {
      const order = await h.place(owner, { accountId, clientOrderId: cid(), symbol, side: 'BUY', type: 'LIMIT', quantity: '1', price: index === 1 ? '40' : '80' });
      orderIds.push(order.id);
    }
  });

  afterAll(async () => {
    await h?.close();
  });

  it('lists the owner\'s orders newest first, filtered and paged', async () => {
    const all = await h.request(ORDERS, {}, owner);
    expect(all.data!.tradeOrders.edges.map((edge: any) => edge.node.id)).toEqual([...orderIds].reverse());
    const btc = await h.request(ORDERS, { filter: { symbol: 'BTC/USDT', status: ['OPEN'] } }, owner);
    expect(btc.data!.tradeOrders.edges.map((edge: any) => edge.node.id)).toEqual([orderIds[2], orderIds[0]]);
    const first = await h.request(ORDERS, { first: 2 }, owner);
    expect(first.data!.tradeOrders.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const next = await h.request(ORDERS, { first: 2, after: first.data!.tradeOrders.pageInfo.endCursor }, owner);
    expect(next.data!.tradeOrders.edges.map((edge: any) => edge.node.id)).toEqual([orderIds[0]]);
    expect(errorCode(await h.request(ORDERS, { after: 'not-a-cursor' }, owner))).toBe('BAD_USER_INPUT');
    expect(errorCode(await h.request(ORDERS, { first: 0 }, owner))).toBe('BAD_USER_INPUT');
  });

  it('hides them from another user, an ADMIN included: NOT_FOUND, empty lists, null references', async () => {
    for (const token of [stranger, admin]) {
      expect(errorCode(await h.request(ORDER, { id: orderIds[0] }, token))).toBe('NOT_FOUND');
      expect(errorCode(await h.request(CANCEL, { id: orderIds[0] }, token))).toBe('NOT_FOUND');
      expect(errorCode(await h.request(BALANCES, { accountId }, token))).toBe('NOT_FOUND');
      expect(errorCode(await h.request(UNLINK, { id: accountId }, token))).toBe('NOT_FOUND');
      const place = await h.request(PLACE, { input: { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'MARKET', quantity: '0.1' } }, token);
      expect(errorCode(place)).toBe('NOT_FOUND');
      expect((await h.request(ORDERS, {}, token)).data!.tradeOrders.edges).toEqual([]);
      const entities = await h.request(ENTITIES, { r: [{ __typename: 'TradeOrder', id: orderIds[0] }, { __typename: 'ExchangeAccount', id: accountId }] }, token);
      expect(entities.data!._entities).toEqual([null, null]);
      expect(errorCode(await h.request(USER_ORDERS, { r: [{ __typename: 'User', id: ownerId }] }, token))).toBe('FORBIDDEN');
    }
    // Nothing the others tried changed the owner's orders.
    expect((await h.order(owner, orderIds[0]!)).status).toBe('OPEN');
  });

  it('answers the owner through references too', async () => {
    const entities = await h.request(ENTITIES, { r: [{ __typename: 'TradeOrder', id: orderIds[1] }, { __typename: 'ExchangeAccount', id: accountId }] }, owner);
    expect(entities.data!._entities).toEqual([{ id: orderIds[1], status: 'OPEN' }, { id: accountId, label: 'Paper' }]);
    const mine = await h.request(USER_ORDERS, { r: [{ __typename: 'User', id: ownerId }] }, owner);
    expect(mine.data!._entities[0].tradeOrders.edges).toHaveLength(3);
  });

  it('asks anonymous callers to sign in', async () => {
    expect(errorCode(await h.request(ORDERS, {}))).toBe('UNAUTHENTICATED');
    expect(errorCode(await h.request(ORDER, { id: orderIds[0] }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await h.request(PLACE, { input: { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'MARKET', quantity: '1' } }))).toBe('UNAUTHENTICATED');
  });
});
