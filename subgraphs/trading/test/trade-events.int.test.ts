import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { QueueWatcher } from '../../kit/src/events/testing';
import { cid, startOrdersHarness, type OrdersHarness } from './support/orders-harness';

const UPDATED = `subscription($orderId: ID) { tradeOrderUpdated(orderId: $orderId) { id status filledQuantity averagePrice } }`;

/** What a graphql-ws subscription received, with a way to wait for what a test expects. */
function follow(client: Client, variables: Record<string, unknown>) {
  const changes = new EventEmitter();
  const results: FormattedExecutionResult<Record<string, any>, unknown>[] = [];
  const stop = client.subscribe<Record<string, any>>(
    { query: UPDATED, variables },
    {
      next: (result) => {
        results.push(result);
        changes.emit('change');
      },
      error: (error) => {
        results.push({ errors: [{ message: String((error as Error).message ?? error) }] } as never);
        changes.emit('change');
      },
      complete: () => changes.emit('change'),
    },
  );
  const until = (check: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`subscription got ${JSON.stringify(results)}`)), 10_000);
      const test = () => {
        if (!check()) return;
        clearTimeout(timer);
        changes.off('change', test);
        resolve();
      };
      changes.on('change', test);
      test();
    });
  return { results, until, stop };
}

/** FillExecuted (portfolio, analytics) and TradeOrderUpdated (analytics) through the outbox relay to the consumers' queues, and tradeOrderUpdated on the subgraph. */
describe('trade order events and live updates', () => {
  let h: OrdersHarness;
  let portfolio: QueueWatcher;
  let analytics: QueueWatcher;
  const clients: Client[] = [];

  const client = (token: string) => {
    const created = createClient({ url: h.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    h = await startOrdersHarness('trade_events', { env: { EVENTS_ENABLED: 'true' } });
    portfolio = new QueueWatcher('portfolio', h.eventsPrefix);
    analytics = new QueueWatcher('analytics', h.eventsPrefix);
    await h.prices('BTC/USDT', '100');
  });

  afterAll(async () => {
    await Promise.all(clients.map((created) => created.dispose()));
    await portfolio?.close();
    await analytics?.close();
    await h?.close();
  });

  it('publishes FillExecuted to portfolio and analytics and TradeOrderUpdated to analytics, with their exact payloads', async () => {
    const userId = randomUUID();
    const token = await h.token(userId);
    const accountId = await h.linkPaper(token, { feeRate: '0.001', slippageBps: '10' });
    const clientOrderId = cid();
    const order = await h.place(token, { accountId, clientOrderId, symbol: 'BTC/USDT', side: 'BUY', type: 'MARKET', quantity: '2' });

    const fill = await portfolio.next((event) => event.type === 'FillExecuted' && event.subject === order.id);
    expect(fill).toMatchObject({ source: 'trading', version: 1 });
    expect(fill.data).toEqual({
      fillId: order.fills[0].id,
      orderId: order.id,
      accountId,
      userId,
      symbol: 'BTC/USDT',
      base: 'BTC',
      quote: 'USDT',
      side: 'BUY',
      quantity: '2',
      price: '100.1',
      fee: '0.2002',
      feeCurrency: 'USDT',
      executedAt: order.fills[0].executedAt,
    });
    const updated = await analytics.next((event) => event.type === 'TradeOrderUpdated' && event.subject === order.id);
    expect(updated.data).toEqual({
      orderId: order.id,
      userId,
      accountId,
      clientOrderId,
      symbol: 'BTC/USDT',
      side: 'BUY',
      type: 'MARKET',
      status: 'FILLED',
      quantity: '2',
      filledQuantity: '2',
      averagePrice: '100.1',
      reason: null,
      updatedAt: order.updatedAt,
    });
    // Analytics gets the same fill (its own queue); portfolio never gets order updates.
    expect((await analytics.next((event) => event.id === fill.id)).data).toEqual(fill.data);
    expect(portfolio.received.filter((event) => event.type === 'TradeOrderUpdated')).toEqual([]);
  });

  it('tells every status change of a working order: OPEN, then FILLED with its fill', async () => {
    const token = await h.token(randomUUID());
    const accountId = await h.linkPaper(token);
    const buy = await h.place(token, { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'LIMIT', quantity: '1', price: '90' });
    const open = await analytics.next((event) => event.type === 'TradeOrderUpdated' && event.subject === buy.id);
    expect(open.data).toMatchObject({ status: 'OPEN', filledQuantity: '0', averagePrice: null });
    await h.prices('BTC/USDT', '89');
    const filled = await analytics.next((event) => event.type === 'TradeOrderUpdated' && event.subject === buy.id && event.data.status === 'FILLED');
    expect(filled.data).toMatchObject({ filledQuantity: '1', averagePrice: '90' });
    expect(await portfolio.next((event) => event.type === 'FillExecuted' && event.subject === buy.id)).toMatchObject({ data: { price: '90', quantity: '1' } });
    await h.prices('BTC/USDT', '100');
  });

  it('streams tradeOrderUpdated for the owner only: one order (snapshot first) or all of them', async () => {
    const owner = await h.token(randomUUID());
    const stranger = await h.token(randomUUID());
    const accountId = await h.linkPaper(owner);
    const order = await h.place(owner, { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'LIMIT', quantity: '1', price: '95' });

    const one = follow(client(owner), { orderId: order.id });
    const all = follow(client(owner), {});
    const strangers = follow(client(stranger), {});
    await one.until(() => one.results.length >= 1);
    expect(one.results[0]!.data!.tradeOrderUpdated).toMatchObject({ id: order.id, status: 'OPEN' });
    // The all-orders stream has no snapshot: small orders until it has heard one show it listens.
    const deadline = Date.now() + 10_000;
    while (all.results.length === 0 && Date.now() < deadline) {
      await h.place(owner, { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'MARKET', quantity: '0.01' });
      await Promise.race([all.until(() => all.results.length > 0), new Promise((resolve) => setTimeout(resolve, 100))]).catch(() => undefined);
    }
    expect(all.results.length).toBeGreaterThan(0);

    await h.prices('BTC/USDT', '94');
    await one.until(() => one.results.some((result) => result.data?.tradeOrderUpdated.status === 'FILLED'));
    await all.until(() => all.results.some((result) => result.data?.tradeOrderUpdated.id === order.id && result.data!.tradeOrderUpdated.status === 'FILLED'));
    expect(one.results.every((result) => result.data?.tradeOrderUpdated.id === order.id)).toBe(true);
    expect(one.results.at(-1)!.data!.tradeOrderUpdated).toEqual({ id: order.id, status: 'FILLED', filledQuantity: '1', averagePrice: '95' });
    // Another user's stream heard nothing of these orders.
    expect(strangers.results).toEqual([]);

    const refused = follow(client(stranger), { orderId: order.id });
    await refused.until(() => refused.results.length > 0);
    expect(refused.results[0]!.errors![0]).toMatchObject({ extensions: { code: 'NOT_FOUND' } });
    for (const stream of [one, all, strangers, refused]) stream.stop();
    await h.prices('BTC/USDT', '100');
  });
});
