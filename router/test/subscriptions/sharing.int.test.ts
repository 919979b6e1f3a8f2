import type { Client } from 'graphql-ws';
import { ORDER_SUBSCRIPTION, PRICE_SUBSCRIPTION, record, startLiveStack, untilRouter, wsClient, type LiveStack, type RecordedSubscription } from '../support/live';

describe('sharing upstream subscriptions', () => {
  let stack: LiveStack;
  const clients: Client[] = [];
  const client = (token?: string): Client => {
    const created = wsClient(stack.wsUrl, { token });
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    stack = await startLiveStack();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((one) => one.dispose()));
    await untilRouter(stack.started, (stats) => stats.subscriptions === 0 && stats.upstream.subscriptions === 0);
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('serves 50 clients on one symbol from one upstream subscription, and the last unsubscribe releases it', async () => {
    const { orders, started } = stack;
    const subscribesBefore = orders.subscribes;
    const connectionsBefore = orders.connections.length;
    const completesBefore = orders.completes;
    // Half anonymous, half signed in as different users: prices are public, so they all share.
    const tokens = await Promise.all(Array.from({ length: 25 }, (_, index) => stack.token(`trader-${index}`)));
    const subscriptions: RecordedSubscription[] = [
      ...Array.from({ length: 25 }, () => record(client(), PRICE_SUBSCRIPTION, { symbols: ['BTC'] })),
      ...tokens.map((token) => record(client(token), PRICE_SUBSCRIPTION, { symbols: ['BTC'] })),
    ];
    await untilRouter(started, (stats) => stats.subscriptions === 50);

    expect(orders.pubsub.count('price:BTC')).toBe(1);
    expect(orders.subscribes - subscribesBefore).toBe(1);
    expect(orders.connections.length - connectionsBefore).toBe(1);
    // A public feed is subscribed anonymously, whoever the clients are.
    expect(orders.connections.at(-1)).toEqual({ requestId: expect.any(String) });
    expect(started.router.subscriptions.stats()).toEqual({ connections: 50, subscriptions: 50, upstream: { subscriptions: 1, connections: 1 } });

    orders.pubsub.publish('price:BTC', { symbol: 'BTC', price: '64000.00' });
    for (const subscription of subscriptions) {
      expect(await subscription.result(1)).toEqual({ data: { priceUpdated: { symbol: 'BTC', price: '64000.00' } } });
    }
    orders.pubsub.publish('price:BTC', { symbol: 'BTC', price: '64001.50' });
    for (const subscription of subscriptions) {
      expect(await subscription.result(2)).toEqual({ data: { priceUpdated: { symbol: 'BTC', price: '64001.50' } } });
    }

    // All but one leave: the upstream subscription stays.
    for (const subscription of subscriptions.slice(1)) subscription.unsubscribe();
    await untilRouter(started, (stats) => stats.subscriptions === 1);
    expect(orders.pubsub.count('price:BTC')).toBe(1);
    expect(orders.completes).toBe(completesBefore);
    orders.pubsub.publish('price:BTC', { symbol: 'BTC', price: '64002.00' });
    expect(await subscriptions[0]!.result(3)).toEqual({ data: { priceUpdated: { symbol: 'BTC', price: '64002.00' } } });

    // The last one leaves: the subgraph sees the upstream subscription complete, then the connection close.
    subscriptions[0]!.unsubscribe();
    await orders.until(() => orders.completes === completesBefore + 1);
    expect(orders.pubsub.count('price:BTC')).toBe(0);
    await orders.until(() => orders.openConnections === 0);
    expect(started.router.subscriptions.stats().upstream).toEqual({ subscriptions: 0, connections: 0 });
    for (const subscription of subscriptions) expect(subscription.outcome).toEqual({ completed: true });
  });

  it('keeps different variables on different upstream subscriptions over one connection', async () => {
    const { orders, started } = stack;
    const subscribesBefore = orders.subscribes;
    const btc = record(client(), PRICE_SUBSCRIPTION, { symbols: ['BTC'] });
    const eth = record(client(), PRICE_SUBSCRIPTION, { symbols: ['ETH'] });
    await orders.until(() => orders.pubsub.count('price:BTC') === 1 && orders.pubsub.count('price:ETH') === 1);

    expect(orders.subscribes - subscribesBefore).toBe(2);
    expect(started.router.subscriptions.stats().upstream).toEqual({ subscriptions: 2, connections: 1 });
    orders.pubsub.publish('price:ETH', { symbol: 'ETH', price: '3100' });
    expect(await eth.result(1)).toEqual({ data: { priceUpdated: { symbol: 'ETH', price: '3100' } } });
    expect(btc.results).toEqual([]);
  });

  it('shares a per-user subscription only between clients with the same token', async () => {
    const { orders, started } = stack;
    const subscribesBefore = orders.subscribes;
    const connectionsBefore = orders.connections.length;
    const u1 = await stack.token('u1');
    const u2 = await stack.token('u2');
    const first = record(client(u1), ORDER_SUBSCRIPTION, { id: 'o1' });
    const second = record(client(u1), ORDER_SUBSCRIPTION, { id: 'o1' });
    const other = record(client(u2), ORDER_SUBSCRIPTION, { id: 'o2' });
    await untilRouter(started, (stats) => stats.subscriptions === 3);
    await orders.until(() => orders.pubsub.count('order:o1') === 1 && orders.pubsub.count('order:o2') === 1);

    expect(orders.subscribes - subscribesBefore).toBe(2);
    // One connection per user, each carrying that user's token.
    expect(orders.connections.slice(connectionsBefore).map((params) => params.authorization).sort()).toEqual([`Bearer ${u1}`, `Bearer ${u2}`].sort());
    orders.pubsub.publish('order:o1', { id: 'o1', status: 'CONFIRMED' });
    orders.pubsub.publish('order:o2', { id: 'o2', status: 'CANCELLED' });
    const o1 = { data: { orderUpdated: { status: 'CONFIRMED', payment: { status: 'PENDING' }, user: { email: 'u1@example.com' } } } };
    expect(await first.result(1)).toEqual(o1);
    expect(await second.result(1)).toEqual(o1);
    expect(await other.result(1)).toEqual({ data: { orderUpdated: { status: 'CANCELLED', payment: { status: 'PENDING' }, user: { email: 'u2@example.com' } } } });
  });
});
