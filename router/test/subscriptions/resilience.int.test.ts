import type { Client } from 'graphql-ws';
import { ORDER_SUBSCRIPTION, PRICE_SUBSCRIPTION, record, startLiveStack, untilRouter, wsClient, type LiveStack } from '../support/live';

describe('subscriptions when a subgraph or the router goes away', () => {
  const stacks: LiveStack[] = [];
  const clients: Client[] = [];

  async function stack(env: Record<string, string> = {}): Promise<LiveStack> {
    const started = await startLiveStack(env);
    stacks.push(started);
    return started;
  }
  function client(live: LiveStack, token?: string): Client {
    const created = wsClient(live.wsUrl, { token });
    clients.push(created);
    return created;
  }

  afterAll(async () => {
    await Promise.all(clients.map((one) => one.dispose()));
    for (const live of stacks) await live.close();
  });

  it('reconnects to a restarted subgraph and resumes every subscription', async () => {
    const live = await stack();
    const { orders } = live;
    const token = await live.token('u1');
    const prices = record(client(live), PRICE_SUBSCRIPTION, { symbols: ['BTC'] });
    const order = record(client(live, token), ORDER_SUBSCRIPTION, { id: 'o1' });
    await orders.until(() => orders.pubsub.count('price:BTC') === 1 && orders.pubsub.count('order:o1') === 1);
    orders.pubsub.publish('price:BTC', { symbol: 'BTC', price: '1' });
    orders.pubsub.publish('order:o1', { id: 'o1', status: 'PAYMENT_PENDING' });
    await prices.result(1);
    await order.result(1);
    const subscribesBefore = orders.subscribes;

    // Mid-stream: the subgraph goes down (every socket dropped) and comes back on the same port.
    await orders.stop();
    await orders.until(() => orders.pubsub.count('price:BTC') === 0 && orders.pubsub.count('order:o1') === 0);
    await orders.start();
    await orders.until(() => orders.subscribes === subscribesBefore + 2 && orders.pubsub.count('price:BTC') === 1 && orders.pubsub.count('order:o1') === 1);

    orders.pubsub.publish('price:BTC', { symbol: 'BTC', price: '2' });
    orders.pubsub.publish('order:o1', { id: 'o1', status: 'CONFIRMED' });
    expect(await prices.result(2)).toEqual({ data: { priceUpdated: { symbol: 'BTC', price: '2' } } });
    expect(await order.result(2)).toEqual({ data: { orderUpdated: { status: 'CONFIRMED', payment: { status: 'PENDING' }, user: { email: 'u1@example.com' } } } });
    expect(prices.outcome).toBeUndefined();
    expect(order.outcome).toBeUndefined();
    // The per-user subscription came back with the user's token.
    expect(orders.connections.filter((params) => params.authorization === `Bearer ${token}`)).toHaveLength(2);
    expect(live.started.router.subscriptions.stats().upstream).toEqual({ subscriptions: 2, connections: 2 });
  });

  it('gives clients an error and completion when the subgraph stays away past SUBSCRIPTION_RECONNECT_MAX_MS', async () => {
    const live = await stack({ SUBSCRIPTION_RECONNECT_MAX_MS: '200' });
    const { orders } = live;
    const prices = record(client(live), PRICE_SUBSCRIPTION, { symbols: ['BTC'] });
    const order = record(client(live, await live.token('u1')), ORDER_SUBSCRIPTION, { id: 'o1' });
    await orders.until(() => orders.pubsub.count('price:BTC') === 1 && orders.pubsub.count('order:o1') === 1);

    await orders.stop();

    for (const subscription of [prices, order]) {
      expect(await subscription.ended()).toEqual({ completed: true });
      expect(subscription.results).toEqual([
        { errors: [{ message: 'Subgraph orders is unavailable', extensions: { code: 'UPSTREAM_UNAVAILABLE', serviceName: 'orders', reason: 'not reachable for 200 ms' } }] },
      ]);
    }
    await untilRouter(live.started, (stats) => stats.subscriptions === 0);
    expect(live.started.router.subscriptions.stats().upstream).toEqual({ subscriptions: 0, connections: 0 });

    // Once it is back, new subscriptions work again.
    await orders.start();
    const again = record(client(live), PRICE_SUBSCRIPTION, { symbols: ['BTC'] });
    await orders.until(() => orders.pubsub.count('price:BTC') === 1);
    orders.pubsub.publish('price:BTC', { symbol: 'BTC', price: '3' });
    expect(await again.result(1)).toEqual({ data: { priceUpdated: { symbol: 'BTC', price: '3' } } });
  });

  it('completes every client subscription and closes the upstream ones when the router closes', async () => {
    const live = await stack();
    const { orders } = live;
    const prices = [record(client(live), PRICE_SUBSCRIPTION, { symbols: ['BTC'] }), record(client(live), PRICE_SUBSCRIPTION, { symbols: ['BTC'] })];
    const order = record(client(live, await live.token('u1')), ORDER_SUBSCRIPTION, { id: 'o1' });
    await untilRouter(live.started, (stats) => stats.subscriptions === 3);
    await orders.until(() => orders.pubsub.count('price:BTC') === 1 && orders.pubsub.count('order:o1') === 1);
    const completesBefore = orders.completes;

    await live.started.router.close();

    for (const subscription of [...prices, order]) {
      expect(await subscription.ended()).toEqual({ completed: true });
      expect(subscription.results).toEqual([]);
    }
    await orders.until(() => orders.completes === completesBefore + 2 && orders.openConnections === 0);
    expect(orders.pubsub.count('price:BTC')).toBe(0);
    expect(orders.pubsub.count('order:o1')).toBe(0);
    expect(live.started.router.subscriptions.stats()).toEqual({ connections: 0, subscriptions: 0, upstream: { subscriptions: 0, connections: 0 } });
    expect(live.started.router.httpServer.listening).toBe(false);
  });
});
