import { print } from 'graphql';
import { randomUUID } from 'node:crypto';
import {
  AddToCartDocument,
  CheckoutDocument,
  CreateWebhookEndpointDocument,
  LinkExchangeAccountDocument,
  PlaceTradeOrderDocument,
  RegisterDocument,
  StorefrontDocument,
} from '../../../schema/generated/operations';
import { DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { OtlpReceiver } from '../../../subgraphs/kit/src/otlp-receiver';
import { graphqlRequest } from '../../../subgraphs/kit/src/testing';
import { newSpanId, newTraceId } from '../../../subgraphs/kit/src/trace-context';
import { ScriptedFeed } from '../../../subgraphs/trading/test/support/scripted-feed';
import { SUBGRAPH_NAMES, startStack, type Stack } from './stack';

describe('one trace across the router and the subgraphs, exported over OTLP/HTTP', () => {
  const collector = new OtlpReceiver();
  let stack: Stack;

  beforeAll(async () => {
    const endpoint = await collector.start();
    const traces = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint };
    const env = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, traces]));
    stack = await startStack({ routerEnv: traces, env: { ...env, trading: { ...traces, TWAP_MIN_INTERVAL_MS: '10' } } });
  });

  afterAll(async () => {
    await stack?.close();
    await collector.close();
  });

  /**
   * The trace once each of `consumers` (service, span name) is in it with its parent: processes
   * export on their own schedules, so a child can arrive before the span it is under.
   */
  const traceWithParents = (traceId: string, consumers: readonly (readonly [string, string])[]) =>
    collector.trace(traceId, (found) =>
      consumers.every(([service, name]) => {
        const consumer = found.find((span) => span.service === service && span.name === name);
        return consumer !== undefined && found.some((span) => span.spanId === consumer.parentSpanId);
      }),
    );

  const storefront = (traceparent: string, token?: string) =>
    graphqlRequest(stack.routerUrl, print(StorefrontDocument), { variables: { first: 3 }, token, headers: { traceparent } });

  it('records the operation as the router\'s span under the caller\'s, each subgraph fetch as a CLIENT span under it, and the subgraph\'s span under that', async () => {
    const caller = { traceId: newTraceId(), spanId: newSpanId() };
    stack.resetCalls();
    const token = await stack.mintToken('00000000-0000-4000-8000-00000000c0de');
    const answered = await storefront(`00-${caller.traceId}-${caller.spanId}-01`, token);
    expect(answered.errors).toBeUndefined();
    const called = Object.entries(stack.calls).filter(([, count]) => count > 0).map(([name]) => name).sort();
    expect(called).toEqual(['catalog', 'inventory', 'users']);

    // Each subgraph's span, the router's fetch span above it and the operation's span above that.
    const spans = await collector.trace(caller.traceId, (found) => {
      const byId = new Map(found.map((span) => [span.spanId, span]));
      const fetched = found.filter((span) => called.includes(span.service));
      return called.every((service) => fetched.some((span) => span.service === service)) && fetched.every((span) => byId.has(byId.get(span.parentSpanId)?.parentSpanId ?? ''));
    });
    const router = spans.filter((span) => span.service === 'router' && span.kind === 2);
    expect(router).toEqual([
      expect.objectContaining({ name: 'query Storefront', kind: 2, parentSpanId: caller.spanId, statusCode: 0, attributes: expect.objectContaining({ 'graphql.operation.name': 'Storefront', 'http.response.status_code': 200 }) }),
    ]);
    for (const service of called) {
      const fetches = spans.filter((span) => span.service === service);
      expect(fetches.length).toBeGreaterThan(0);
      for (const fetch of fetches) {
        const client = spans.find((span) => span.spanId === fetch.parentSpanId);
        expect(client).toMatchObject({ service: 'router', kind: 3, name: `POST ${service}`, parentSpanId: router[0]!.spanId, attributes: expect.objectContaining({ 'mercado.subgraph': service }) });
        expect(fetch).toMatchObject({ kind: 2, attributes: { 'http.route': 'graphql', 'http.response.status_code': 200 } });
        // The router names each fetch after the operation and the subgraph.
        expect(fetch.name).toMatch(new RegExp(`^Storefront__${service}__\\d+$`));
      }
    }
  });

  it('continues the checkout\'s trace through the saga\'s events: each consumer\'s span is a child of the span that wrote the event', async () => {
    const token = await stack.mintToken('00000000-0000-4000-8000-0000000ca11e');
    const wallet = DEMO_PRODUCTS.find((product) => product.sku === 'GOOD-HW-WALLET')!;
    expect((await stack.request(AddToCartDocument, { productId: wallet.id, quantity: 1 }, token)).errors).toBeUndefined();
    const caller = { traceId: newTraceId(), spanId: newSpanId() };
    const checkout = await graphqlRequest(stack.routerUrl, print(CheckoutDocument), {
      variables: { input: { idempotencyKey: caller.spanId, paymentMethod: 'dev-card' } },
      token,
      headers: { traceparent: `00-${caller.traceId}-${caller.spanId}-01` },
    });
    expect(checkout.errors).toBeUndefined();

    // OrderPlaced → inventory → StockReserved → orders → PaymentRequested → payments → PaymentSucceeded → orders.
    const saga = [
      ['inventory', 'process OrderPlaced'],
      ['orders', 'process StockReserved'],
      ['payments', 'process PaymentRequested'],
      ['orders', 'process PaymentSucceeded'],
    ] as const;
    const spans = await traceWithParents(caller.traceId, saga);
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const parentOf = (service: string, name: string) => {
      const span = spans.find((found) => found.service === service && found.name === name)!;
      expect(span).toMatchObject({ kind: 5, statusCode: 0, attributes: expect.objectContaining({ 'messaging.system': 'bullmq', 'mercado.event.outcome': 'processed' }) });
      return byId.get(span.parentSpanId);
    };
    // The checkout's own span (orders, under the router's) wrote OrderPlaced.
    expect(parentOf('inventory', 'process OrderPlaced')).toMatchObject({ service: 'orders', name: expect.stringMatching(/^Checkout__orders__\d+$/) });
    expect(parentOf('orders', 'process StockReserved')).toMatchObject({ service: 'inventory', name: 'process OrderPlaced' });
    expect(parentOf('payments', 'process PaymentRequested')).toMatchObject({ service: 'orders', name: 'process StockReserved' });
    expect(parentOf('orders', 'process PaymentSucceeded')).toMatchObject({ service: 'payments' });
  });

  /** The span that wrote the event `name` consumed in `service`, checked to be that event's consumer span. */
  const writerOf = (spans: Awaited<ReturnType<OtlpReceiver['trace']>>, service: string, name: string) => {
    const consumer = spans.find((span) => span.service === service && span.name === name)!;
    expect(consumer).toMatchObject({ kind: 5, statusCode: 0 });
    return spans.find((span) => span.spanId === consumer.parentSpanId);
  };

  describe('trading', () => {
    const feed = new ScriptedFeed();
    let token: string;
    let accountId: string;

    const tick = async (price: string) => {
      feed.price('BTC/USDT', price);
      await stack.server('trading').engine.idle();
    };
    const place = (input: Record<string, unknown>, traceparent?: string) =>
      graphqlRequest(stack.routerUrl, print(PlaceTradeOrderDocument), {
        variables: { input: { accountId, clientOrderId: randomUUID(), symbol: 'BTC/USDT', side: 'BUY', ...input } },
        token,
        headers: traceparent ? { traceparent } : {},
      });

    beforeAll(async () => {
      await stack.server('trading').startMarket(feed);
      await tick('60000');
      token = await stack.mintToken(randomUUID(), 'TRADER');
      const linked = await stack.request(LinkExchangeAccountDocument, { input: { label: 'Traced', startingBalances: [{ asset: 'USDT', amount: '10000' }] } }, token);
      expect(linked.errors).toBeUndefined();
      accountId = linked.data!.linkExchangeAccount.id;
    });

    it('continues a trade\'s trace to the consumers of its fill and order events', async () => {
      const caller = { traceId: newTraceId(), spanId: newSpanId() };
      const placed = await place({ type: 'MARKET', quantity: '0.01' }, `00-${caller.traceId}-${caller.spanId}-01`);
      expect(placed.errors).toBeUndefined();

      const consumers = [
        ['portfolio', 'process FillExecuted'],
        ['analytics', 'process FillExecuted'],
        ['analytics', 'process TradeOrderUpdated'],
      ] as const;
      const spans = await traceWithParents(caller.traceId, consumers);
      // Trading wrote both events in the placement's request, a child of the router's operation span.
      for (const [service, name] of consumers) {
        expect(writerOf(spans, service, name)).toMatchObject({ service: 'trading', name: expect.stringMatching(/^PlaceTradeOrder__trading__\d+$/) });
      }
    });

    it('runs each TWAP slice in the placement\'s trace, and each slice\'s fill reaches portfolio under it', async () => {
      const caller = { traceId: newTraceId(), spanId: newSpanId() };
      const placed = await place({ type: 'TWAP', quantity: '0.02', twapDurationMs: 100, twapSlices: 2 }, `00-${caller.traceId}-${caller.spanId}-01`);
      expect(placed.errors).toBeUndefined();

      const isSlice = (span: { service: string; name: string }) => span.service === 'trading' && span.name === 'process TWAP slice';
      const spans = await collector.trace(caller.traceId, (found) => found.filter(isSlice).length === 2 && found.filter((span) => span.service === 'portfolio').length === 2);
      const placement = spans.find((span) => span.service === 'trading' && /^PlaceTradeOrder__trading__\d+$/.test(span.name))!;
      const slices = spans.filter(isSlice);
      for (const slice of slices) expect(slice).toMatchObject({ kind: 5, parentSpanId: placement.spanId, statusCode: 0, attributes: expect.objectContaining({ 'mercado.twap.outcome': 'filled' }) });
      expect(slices.map((slice) => slice.attributes['mercado.twap.slice']).sort()).toEqual([0, 1]);
      for (const fill of spans.filter((span) => span.service === 'portfolio')) {
        expect(fill).toMatchObject({ name: 'process FillExecuted' });
        expect(slices.map((slice) => slice.spanId)).toContain(fill.parentSpanId);
      }
    });

    it('starts a trace for each tick that fires stops, which their fills\' consumers continue', async () => {
      const placed = await place({ type: 'STOP_MARKET', quantity: '0.01', stopPrice: '60500' });
      expect(placed.errors).toBeUndefined();
      await tick('60600');

      const isFire = (span: { service: string; name: string; parentSpanId: string }) => span.service === 'trading' && span.name === 'fire BTC/USDT' && span.parentSpanId === '';
      const consumedBoth = (spans: readonly { service: string; spanId: string; parentSpanId: string }[], fire: { spanId: string }) =>
        ['portfolio', 'analytics'].every((service) => spans.some((span) => span.service === service && span.parentSpanId === fire.spanId));
      await collector.until((spans) => spans.some((fire) => isFire(fire) && consumedBoth(spans, fire)));
      const fired = collector.spans;
      const fire = fired.find((span) => isFire(span) && consumedBoth(fired, span))!;
      expect(fire).toMatchObject({ kind: 1, statusCode: 0, attributes: expect.objectContaining({ 'mercado.symbol': 'BTC/USDT', 'mercado.tick.price': '60600', 'mercado.orders.fired': 1 }) });
      const consumers = fired.filter((span) => span.traceId === fire.traceId && span.parentSpanId === fire.spanId);
      expect(consumers.map((span) => `${span.service} ${span.name}`).sort()).toEqual(
        expect.arrayContaining(['analytics process FillExecuted', 'analytics process TradeOrderUpdated', 'portfolio process FillExecuted']),
      );
    });
  });

  it('continues a webhook alert\'s trace to its screenshot and to analytics', async () => {
    const token = await stack.mintToken(randomUUID());
    const created = await stack.request(CreateWebhookEndpointDocument, { name: 'Traced' }, token);
    expect(created.errors).toBeUndefined();
    const caller = { traceId: newTraceId(), spanId: newSpanId() };
    const response = await fetch(created.data!.createWebhookEndpoint.url.replace(/^.*\/webhook\//, `${stack.baseUrls.signals}/webhook/`), {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${caller.traceId}-${caller.spanId}-01` },
      body: JSON.stringify({ ticker: 'BINANCE:BTCUSDT', action: 'buy', price: '60000' }),
    });
    expect(response.status).toBe(200);

    const spans = await traceWithParents(caller.traceId, [
      ['analytics', 'process SignalReceived'],
      ['analytics', 'process SignalScreenshotReady'],
    ]);
    // The webhook's request span (named by its route, never by the path that holds the token) wrote the event and queued the screenshot.
    const webhook = writerOf(spans, 'analytics', 'process SignalReceived')!;
    expect(webhook).toMatchObject({ service: 'signals', name: 'POST /webhook/u/:token', parentSpanId: caller.spanId });
    const screenshot = writerOf(spans, 'analytics', 'process SignalScreenshotReady')!;
    expect(screenshot).toMatchObject({
      service: 'signals',
      name: 'process screenshot',
      kind: 5,
      parentSpanId: webhook.spanId,
      attributes: expect.objectContaining({ 'messaging.destination.name': expect.any(String), 'mercado.screenshot.status': 'READY' }),
    });
  });

  it('sends a registration\'s welcome mail in the registration\'s trace', async () => {
    const caller = { traceId: newTraceId(), spanId: newSpanId() };
    const registered = await graphqlRequest(stack.routerUrl, print(RegisterDocument), {
      variables: { input: { email: `${randomUUID()}@example.com`, password: 'a-long-password-1', name: 'Traced' } },
      headers: { traceparent: `00-${caller.traceId}-${caller.spanId}-01` },
    });
    expect(registered.errors).toBeUndefined();
    const spans = await collector.trace(caller.traceId, (found) => found.some((span) => span.service === 'users' && span.name === 'send mail'));
    const mail = spans.find((span) => span.service === 'users' && span.name === 'send mail')!;
    expect(mail).toMatchObject({ kind: 5, statusCode: 0, attributes: expect.objectContaining({ 'messaging.destination.name': 'users-mail' }) });
    expect(spans.find((span) => span.spanId === mail.parentSpanId)).toMatchObject({ service: 'users', name: expect.stringMatching(/^Register__users__\d+$/) });
  });

  it('starts a trace for a caller without one, and records none of a trace its caller did not sample', async () => {
    const unsampled = { traceId: newTraceId(), spanId: newSpanId() };
    expect((await storefront(`00-${unsampled.traceId}-${unsampled.spanId}-00`)).errors).toBeUndefined();

    const fresh = await graphqlRequest(stack.routerUrl, '{ products(first: 1) { edges { node { name } } } }');
    expect(fresh.errors).toBeUndefined();
    const isRoot = (span: { service: string; parentSpanId: string; name: string }) => span.service === 'router' && span.parentSpanId === '' && span.name === 'query anonymous';
    await collector.until((spans) => spans.some(isRoot));
    const root = collector.spans.find(isRoot)!;
    await collector.trace(root.traceId, (found) => found.some((span) => span.service === 'catalog'));
    // The unsampled request came first; no process recorded anything of its trace.
    expect(collector.spans.filter((span) => span.traceId === unsampled.traceId)).toEqual([]);
  });
});
