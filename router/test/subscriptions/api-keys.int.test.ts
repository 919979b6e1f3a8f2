import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from 'graphql-ws';
import { startRouter, type StartedRouter } from '../support/fixtures';
import { ORDER_SUBSCRIPTION, PRICE_SUBSCRIPTION, record, startLiveStack, untilRouter, wsClient, type LiveStack } from '../support/live';
import { byHash, send, startKeyExchange, writeManifest, type KeyExchange, type ManifestFile } from '../support/partners';

const ORDER_QUERY = 'query Order($id: ID!) {\n  order(id: $id) {\n    status\n  }\n}';
/** Not in the manifest. */
const FREE_PRICES = 'subscription { priceUpdated(symbols: ["BTC"]) { price } }';

const hashOf = (query: string) => byHash(query).extensions;

describe('API keys, rate limits and the manifest on graphql-ws connections', () => {
  let stack: LiveStack;
  let exchange: KeyExchange;
  let manifest: ManifestFile;
  const routers: StartedRouter[] = [];
  const clients: Client[] = [];

  async function router(env: Record<string, string> = {}): Promise<StartedRouter> {
    const started = await startRouter({
      supergraphSdl: stack.supergraphSdl,
      verifyToken: stack.issuer.verifyToken,
      env: { API_KEY_EXCHANGE_URL: exchange.url, PERSISTED_QUERIES_PATH: manifest.path, ...env },
    });
    routers.push(started);
    return started;
  }

  function client(started: StartedRouter, connectionParams?: Record<string, unknown>, headers?: Record<string, string>): Client {
    const created = wsClient(started.url, { connectionParams, headers });
    clients.push(created);
    return created;
  }

  beforeAll(async () => {
    stack = await startLiveStack();
    exchange = await startKeyExchange(stack.issuer);
    manifest = writeManifest([
      { name: 'Order', type: 'query', body: ORDER_QUERY },
      { name: 'OrderUpdated', type: 'subscription', body: ORDER_SUBSCRIPTION },
      { name: 'Prices', type: 'subscription', body: PRICE_SUBSCRIPTION },
    ]);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((one) => one.dispose()));
    await stack.orders.until(() => stack.orders.pubsub.count('order:o1') === 0 && stack.orders.pubsub.count('order:o2') === 0 && stack.orders.pubsub.count('price:BTC') === 0);
  });

  afterAll(async () => {
    for (const started of routers) await started.router.close();
    await exchange?.close();
    await stack?.close();
    manifest?.remove();
  });

  it("runs a key's operations as its owner: subgraphs get a token of the key, never the key, and HTTP and the socket share one exchange", async () => {
    const started = await router();
    const key = exchange.add(['read'], 'u1');
    const before = exchange.calls();
    stack.payments.requests.length = 0;
    stack.users.requests.length = 0;

    const overHttp = await send(started.url, { ...byHash(ORDER_QUERY), variables: { id: 'o1' } }, { 'x-api-key': key.key });
    expect(overHttp.body).toEqual({ data: { order: { status: 'PLACED' } } });

    const socket = client(started, { apiKey: key.key });
    // A query on the socket, and a subscription named by hash alone (graphql-ws wants a query string: '').
    const query = record(socket, '', { id: 'o1' }, hashOf(ORDER_QUERY));
    expect(await query.result(1)).toEqual({ data: { order: { status: 'PLACED' } } });
    const subscription = record(socket, '', { id: 'o1' }, hashOf(ORDER_SUBSCRIPTION));
    await stack.orders.until(() => stack.orders.pubsub.count('order:o1') === 1);
    stack.orders.pubsub.publish('order:o1', { id: 'o1', status: 'PAYMENT_PENDING' });
    expect(await subscription.result(1)).toEqual({
      data: { orderUpdated: { status: 'PAYMENT_PENDING', payment: { status: 'PENDING' }, user: { email: 'u1@example.com' } } },
    });

    const upstream = stack.orders.connections.at(-1) as { authorization: string };
    expect(await stack.issuer.verifyToken(upstream.authorization.slice('Bearer '.length))).toMatchObject({ id: 'u1', role: 'PARTNER', apiKeyId: key.id });
    expect(stack.payments.requests.at(-1)!.headers.authorization).toBe(upstream.authorization);
    const seen = JSON.stringify([stack.orders.connections, stack.payments.requests.map((request) => request.headers), stack.users.requests.map((request) => request.headers)]);
    expect(seen).not.toContain(key.key);
    expect(exchange.calls() - before).toBe(1);
    subscription.unsubscribe();
  });

  it("takes the key from the upgrade request's x-api-key header too", async () => {
    const started = await router();
    const key = exchange.add(['read'], 'u2');
    const subscription = record(client(started, undefined, { 'x-api-key': key.key }), ORDER_SUBSCRIPTION, { id: 'o2' }, hashOf(ORDER_SUBSCRIPTION));
    await stack.orders.until(() => stack.orders.pubsub.count('order:o2') === 1);

    stack.orders.pubsub.publish('order:o2', { id: 'o2', status: 'CONFIRMED' });

    expect((await subscription.result(1)).data).toMatchObject({ orderUpdated: { status: 'CONFIRMED', user: { email: 'u2@example.com' } } });
    subscription.unsubscribe();
  });

  it.each([
    ['an unknown key', 4401, { apiKey: 'mk_not-a-key' }],
    ['a key next to a bearer token', 4400, { apiKey: 'mk_any', authorization: 'Bearer any' }],
    ['a key that is not a string', 4400, { apiKey: ['mk_a', 'mk_b'] }],
  ])('refuses the connection for %s (close code %i) and opens nothing upstream', async (_case, code, connectionParams) => {
    const started = await router();
    const connectionsBefore = stack.orders.connections.length;

    const subscription = record(client(started, connectionParams), PRICE_SUBSCRIPTION, { symbols: ['BTC'] }, hashOf(PRICE_SUBSCRIPTION));

    expect(await subscription.ended()).toEqual({ error: expect.objectContaining({ code }) });
    expect(subscription.results).toEqual([]);
    expect(stack.orders.connections.length).toBe(connectionsBefore);
  });

  it('closes with 1013 (try again later, which clients retry) while keys cannot be checked', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const started = await router({ API_KEY_EXCHANGE_URL: `http://127.0.0.1:${port}/api-keys/token` });

    const subscription = record(client(started, { apiKey: exchange.add(['read']).key }), PRICE_SUBSCRIPTION, { symbols: ['BTC'] }, hashOf(PRICE_SUBSCRIPTION));

    expect(await subscription.ended()).toEqual({ error: expect.objectContaining({ code: 1013 }) });
  });

  it("checks the key again for every operation: once revoked (API_KEY_CACHE_SECONDS=0) nothing new starts, what runs goes on", async () => {
    const started = await router({ API_KEY_CACHE_SECONDS: '0' });
    const key = exchange.add(['read'], 'u1');
    const socket = client(started, { apiKey: key.key });
    const running = record(socket, ORDER_SUBSCRIPTION, { id: 'o1' }, hashOf(ORDER_SUBSCRIPTION));
    await stack.orders.until(() => stack.orders.pubsub.count('order:o1') === 1);

    exchange.revoke(key);
    const refused = record(socket, PRICE_SUBSCRIPTION, { symbols: ['BTC'] }, hashOf(PRICE_SUBSCRIPTION));

    expect(await refused.ended()).toEqual({ error: [expect.objectContaining({ message: 'The API key is not valid', extensions: { code: 'UNAUTHENTICATED' } })] });
    expect(stack.orders.pubsub.count('price:BTC')).toBe(0);
    stack.orders.pubsub.publish('order:o1', { id: 'o1', status: 'SHIPPED' });
    expect((await running.result(1)).data).toMatchObject({ orderUpdated: { status: 'SHIPPED' } });
    running.unsubscribe();
  });

  it('holds a key to the manifest on the socket as over HTTP, and everyone to it with the safelist on', async () => {
    const started = await router();
    const key = exchange.add(['read']);

    const free = record(client(started, { apiKey: key.key }), FREE_PRICES);
    expect(await free.ended()).toEqual({
      error: [expect.objectContaining({ message: expect.stringContaining('An API key may run only the persisted operations'), extensions: { code: 'FORBIDDEN' } })],
    });
    expect(stack.orders.pubsub.count('price:BTC')).toBe(0);

    // A signed-in user may send any operation unless the safelist is on.
    const user = record(client(started, { authorization: `Bearer ${await stack.token('u1')}` }), FREE_PRICES);
    await stack.orders.until(() => stack.orders.pubsub.count('price:BTC') === 1);
    user.unsubscribe();
    await stack.orders.until(() => stack.orders.pubsub.count('price:BTC') === 0);

    const safelisted = await router({ PERSISTED_QUERIES_SAFELIST: 'true' });
    const anonymous = client(safelisted);
    const refused = record(anonymous, FREE_PRICES);
    expect(await refused.ended()).toEqual({
      error: [expect.objectContaining({ message: expect.stringContaining('This router runs only the persisted operations'), extensions: { code: 'FORBIDDEN' } })],
    });
    // The manifest's exact text is as good as its hash.
    const listed = record(anonymous, PRICE_SUBSCRIPTION, { symbols: ['BTC'] });
    await stack.orders.until(() => stack.orders.pubsub.count('price:BTC') === 1);
    stack.orders.pubsub.publish('price:BTC', { symbol: 'BTC', price: '64000.10' });
    expect(await listed.result(1)).toEqual({ data: { priceUpdated: { symbol: 'BTC', price: '64000.10' } } });
    listed.unsubscribe();
  });

  it("counts every operation on a socket against its caller's rate limit, with the caller's HTTP requests", async () => {
    const started = await router({ RATE_LIMIT_API_KEY_PER_MINUTE: '2', RATE_LIMIT_USER_PER_MINUTE: '2' });
    const key = exchange.add(['read']);
    const rateLimited = { error: [expect.objectContaining({ extensions: { code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) } })] };

    const keyed = client(started, { apiKey: key.key });
    const first = record(keyed, PRICE_SUBSCRIPTION, { symbols: ['BTC'] }, hashOf(PRICE_SUBSCRIPTION));
    await untilRouter(started, (stats) => stats.subscriptions === 1);
    expect(await record(keyed, '', { id: 'o1' }, hashOf(ORDER_QUERY)).ended()).toEqual({ completed: true });
    expect(await record(keyed, PRICE_SUBSCRIPTION, { symbols: ['ETH'] }, hashOf(PRICE_SUBSCRIPTION)).ended()).toEqual(rateLimited);
    const overHttp = await send(started.url, { ...byHash(ORDER_QUERY), variables: { id: 'o1' } }, { 'x-api-key': key.key });
    expect(overHttp.status).toBe(429);
    first.unsubscribe();

    const signedIn = client(started, { authorization: `Bearer ${await stack.token(`user-${randomUUID()}`)}` });
    expect(await record(signedIn, ORDER_QUERY, { id: 'o2' }).ended()).toEqual({ completed: true });
    expect(await record(signedIn, ORDER_QUERY, { id: 'o2' }).ended()).toEqual({ completed: true });
    expect(await record(signedIn, ORDER_QUERY, { id: 'o2' }).ended()).toEqual(rateLimited);
  });
});
