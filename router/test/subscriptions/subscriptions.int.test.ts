import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createIssuer } from '../support/tokens';
import { ORDER_SUBSCRIPTION, PRICE_SUBSCRIPTION, record, startLiveStack, untilRouter, wsClient, type LiveStack } from '../support/live';

describe('subscriptions through the router (graphql-ws on /graphql)', () => {
  let stack: LiveStack;
  const clients: Client[] = [];
  const client = (options: Parameters<typeof wsClient>[1] = {}): Client => {
    const created = wsClient(stack.wsUrl, options);
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    stack = await startLiveStack({ SUBSCRIPTION_MAX_PER_CONNECTION: '2' });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((one) => one.dispose()));
    // Every test leaves the subgraph without subscriptions.
    await stack.orders.until(() => stack.orders.pubsub.count('order:o1') === 0 && stack.orders.pubsub.count('price:BTC') === 0);
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('returns fields from orders, payments and users in every event', async () => {
    const { orders, payments, users } = stack;
    const token = await stack.token('u1');
    const subscription = record(client({ token }), ORDER_SUBSCRIPTION, { id: 'o1' });
    await orders.until(() => orders.pubsub.count('order:o1') === 1);
    payments.requests.length = 0;
    users.requests.length = 0;

    orders.pubsub.publish('order:o1', { id: 'o1', status: 'PAYMENT_PENDING' });
    expect(await subscription.result(1)).toEqual({
      data: { orderUpdated: { status: 'PAYMENT_PENDING', payment: { status: 'PENDING' }, user: { email: 'u1@example.com' } } },
    });

    // The rest of the plan runs again for each event.
    payments.statuses.set('o1', 'SUCCEEDED');
    orders.pubsub.publish('order:o1', { id: 'o1', status: 'CONFIRMED' });
    expect(await subscription.result(2)).toEqual({
      data: { orderUpdated: { status: 'CONFIRMED', payment: { status: 'SUCCEEDED' }, user: { email: 'u1@example.com' } } },
    });
    payments.statuses.set('o1', 'PENDING');

    // The client's token reaches the owning subgraph in connectionParams and the others on each fetch.
    expect(orders.connections.at(-1)).toEqual({ authorization: `Bearer ${token}`, requestId: expect.any(String) });
    expect(payments.requests).toHaveLength(2);
    expect(users.requests).toHaveLength(2);
    for (const request of [...payments.requests, ...users.requests]) {
      expect(request.headers.authorization).toBe(`Bearer ${token}`);
      expect(request.headers['x-request-id']).toEqual(expect.any(String));
    }

    subscription.unsubscribe();
    expect(await subscription.ended()).toEqual({ completed: true });
  });

  it('passes FORBIDDEN from the subgraph through for someone else’s order, then completes', async () => {
    const subscription = record(client({ token: await stack.token('u2') }), ORDER_SUBSCRIPTION, { id: 'o1' });

    const outcome = await subscription.ended();

    expect(outcome).toEqual({ completed: true });
    expect(subscription.results).toEqual([
      { data: null, errors: [{ message: 'Not your order', path: ['orderUpdated'], extensions: { code: 'FORBIDDEN', serviceName: 'orders' } }] },
    ]);
    expect(stack.orders.pubsub.count('order:o1')).toBe(0);
  });

  it('passes UNAUTHENTICATED through for an anonymous client on a per-user subscription', async () => {
    const subscription = record(client(), ORDER_SUBSCRIPTION, { id: 'o1' });

    expect(await subscription.ended()).toEqual({ completed: true });
    expect(subscription.results[0]!.errors![0]!.extensions).toEqual({ code: 'UNAUTHENTICATED', serviceName: 'orders' });
  });

  it('lets an anonymous client subscribe to public prices', async () => {
    const { orders } = stack;
    const subscription = record(client(), PRICE_SUBSCRIPTION, { symbols: ['BTC'] });
    await orders.until(() => orders.pubsub.count('price:BTC') === 1);

    orders.pubsub.publish('price:BTC', { symbol: 'BTC', price: '64000.10' });

    expect(await subscription.result(1)).toEqual({ data: { priceUpdated: { symbol: 'BTC', price: '64000.10' } } });
    subscription.unsubscribe();
  });

  it.each([
    ['a token signed by someone else', async () => `Bearer ${await (await createIssuer()).sign('u1')}`],
    ['garbage', async () => 'Bearer not-a-jwt'],
    ['an expired token', async () => `Bearer ${await stack.issuer.sign('u1', { expiresAt: Math.floor(Date.now() / 1000) - 60 })}`],
  ])('refuses the connection with 4401 for %s, and opens nothing upstream', async (_case, authorization) => {
    const connectionsBefore = stack.orders.connections.length;
    const subscription = record(client({ connectionParams: { authorization: await authorization() } }), PRICE_SUBSCRIPTION, { symbols: ['BTC'] });

    const outcome = await subscription.ended();

    expect(outcome).toEqual({ error: expect.objectContaining({ code: 4401 }) });
    expect(subscription.results).toEqual([]);
    expect(stack.orders.connections.length).toBe(connectionsBefore);
  });

  it('closes a socket with 4401 when its token expires, releasing what it held upstream', async () => {
    const expiresAt = Math.floor(Date.now() / 1000) + 2;
    const { orders } = stack;
    const subscription = record(client({ token: await stack.issuer.sign('u1', { expiresAt }) }), ORDER_SUBSCRIPTION, { id: 'o1' });
    await orders.until(() => orders.pubsub.count('order:o1') === 1);

    const outcome = await subscription.ended();

    expect(outcome).toEqual({ error: expect.objectContaining({ code: 4401, reason: expect.stringContaining('expired') }) });
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt * 1000);
    expect(subscription.results).toEqual([]);
    await orders.until(() => orders.pubsub.count('order:o1') === 0);
  });

  it('refuses operations past SUBSCRIPTION_MAX_PER_CONNECTION on one connection, and frees the slot on unsubscribe', async () => {
    const { orders } = stack;
    const shared = client();
    const first = record(shared, PRICE_SUBSCRIPTION, { symbols: ['BTC'] });
    const second = record(shared, PRICE_SUBSCRIPTION, { symbols: ['ETH'] });
    await orders.until(() => orders.pubsub.count('price:BTC') === 1 && orders.pubsub.count('price:ETH') === 1);

    const third = record(shared, PRICE_SUBSCRIPTION, { symbols: ['SOL'] });
    const outcome = await third.ended();

    expect(outcome).toEqual({ error: [expect.objectContaining({ message: 'At most 2 operations may run at once on one connection', extensions: { code: 'QUOTA_EXCEEDED', limit: 2 } })] });
    expect(orders.pubsub.count('price:SOL')).toBe(0);

    second.unsubscribe();
    await orders.until(() => orders.pubsub.count('price:ETH') === 0);
    await untilRouter(stack.started, (stats) => stats.subscriptions === 1);
    const fourth = record(shared, PRICE_SUBSCRIPTION, { symbols: ['SOL'] });
    await orders.until(() => orders.pubsub.count('price:SOL') === 1);
    orders.pubsub.publish('price:SOL', { symbol: 'SOL', price: '150' });
    expect(await fourth.result(1)).toEqual({ data: { priceUpdated: { symbol: 'SOL', price: '150' } } });
    first.unsubscribe();
    fourth.unsubscribe();
  });

  it('reports client and upstream subscriptions on /metrics', async () => {
    const { orders, started } = stack;
    const subscriptions = [record(client(), PRICE_SUBSCRIPTION, { symbols: ['BTC'] }), record(client(), PRICE_SUBSCRIPTION, { symbols: ['BTC'] })];
    await untilRouter(started, (stats) => stats.subscriptions === 2);
    await orders.until(() => orders.pubsub.count('price:BTC') === 1);

    const text = await (await fetch(`${started.origin}/metrics`)).text();

    expect(text).toMatch(/^router_subscription_connections({[^}]*})? 2$/m);
    expect(text).toMatch(/^router_subscriptions({[^}]*})? 2$/m);
    expect(text).toMatch(/^router_upstream_subscriptions({[^}]*})? 1$/m);
    for (const subscription of subscriptions) subscription.unsubscribe();
  });

  it('answers validation errors with an error message and no upstream subscription', async () => {
    const subscription = record(client(), 'subscription { priceUpdated(symbols: ["BTC"]) { nope } }');

    const outcome = await subscription.ended();

    expect(outcome).toEqual({ error: [expect.objectContaining({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })] });
  });

  it('runs queries sent over the socket through the gateway', async () => {
    const query = record(client(), '{ order(id: "o1") { status payment { status } user { email } } }');

    expect(await query.ended()).toEqual({ completed: true });
    expect(query.results).toEqual([{ data: { order: { status: 'PLACED', payment: { status: 'PENDING' }, user: { email: 'u1@example.com' } } } }]);
  });

  it('closes a socket that never sends connection_init with 4408', async () => {
    const quick = await startLiveStack({ SUBSCRIPTION_INIT_TIMEOUT_MS: '20' });
    try {
      const socket = new WebSocket(quick.wsUrl, 'graphql-transport-ws');
      const [code] = await new Promise<[number, string]>((resolve) => socket.once('close', (closeCode, reason) => resolve([closeCode, String(reason)])));
      expect(code).toBe(4408);
    } finally {
      await quick.close();
    }
  });
});
