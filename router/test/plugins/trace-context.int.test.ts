import type { Client } from 'graphql-ws';
import { OtlpReceiver } from '../../../subgraphs/kit/src/otlp-receiver';
import { parseTraceparent } from '../../../subgraphs/kit/src/trace-context';
import { captureLogs, post, startCatalog, startRouter, type Catalog, type StartedRouter } from '../support/fixtures';
import { ORDER_SUBSCRIPTION, record, startLiveStack, wsClient, type LiveStack } from '../support/live';
import { composeSupergraph } from '../support/subgraph';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('trace-context plugin', () => {
  let catalog: Catalog;
  let started: StartedRouter;
  const logs = captureLogs();
  const clients: Client[] = [];

  beforeAll(async () => {
    catalog = await startCatalog();
    started = await startRouter({ supergraphSdl: composeSupergraph([catalog]), log: logs.log });
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await started?.router.close();
    await catalog?.close();
  });

  /** The trace context the subgraph received with the last request. */
  const received = () => {
    const { headers } = catalog.requests.at(-1)!;
    return { parent: parseTraceparent(headers.traceparent), state: headers.tracestate };
  };

  it('continues the caller\'s trace: same trace id, the router\'s span as the parent, tracestate passed on', async () => {
    await post(started.url, '{ product(id: "p1") { name } }', { headers: { traceparent: `00-${TRACE}-${CALLER_SPAN}-01`, tracestate: 'vendor=abc' } });
    const { parent, state } = received();
    expect(parent).toMatchObject({ traceId: TRACE, flags: '01' });
    expect(parent!.parentId).not.toBe(CALLER_SPAN);
    expect(state).toBe('vendor=abc');
  });

  it('starts a trace per request without a valid traceparent, and drops a tracestate that came alone', async () => {
    await post(started.url, '{ product(id: "p1") { name } }', { headers: { traceparent: `00-${'0'.repeat(32)}-${CALLER_SPAN}-01`, tracestate: 'vendor=abc' } });
    const first = received();
    expect(first.parent).toMatchObject({ traceId: expect.stringMatching(/^[0-9a-f]{32}$/), flags: '00' });
    expect(first.parent!.traceId).not.toBe('0'.repeat(32));
    expect(first.state).toBeUndefined();
    await post(started.url, '{ product(id: "p2") { name } }');
    expect(received().parent!.traceId).not.toBe(first.parent!.traceId);
  });

  it('puts the trace id in the router\'s log lines of the request', async () => {
    await post(started.url, '{ failing(kind: "internal") }', { headers: { traceparent: `00-${TRACE}-${CALLER_SPAN}-01`, 'x-request-id': 'trace-log-1' } });
    const line = logs.lines.find((entry) => entry.requestId === 'trace-log-1' && entry.msg === 'masked an unexpected error');
    expect(line).toMatchObject({ traceId: TRACE });
  });

  it('runs each operation on a socket in the trace of its upgrade request', async () => {
    const client = wsClient(started.url, { headers: { traceparent: `00-${TRACE}-${CALLER_SPAN}-01` } });
    clients.push(client);
    const before = catalog.requests.length;
    const result = await record(client, '{ product(id: "p3") { name } }').result(1);
    expect(result.data).toEqual({ product: { name: 'Product 3' } });
    expect(catalog.requests.length).toBe(before + 1);
    expect(received().parent).toMatchObject({ traceId: TRACE });
  });
});

describe('trace-context plugin with an OTLP collector', () => {
  const collector = new OtlpReceiver();
  let endpoint: string;
  let catalog: Catalog;
  let started: StartedRouter;

  beforeAll(async () => {
    endpoint = await collector.start();
    catalog = await startCatalog();
    started = await startRouter({ supergraphSdl: composeSupergraph([catalog]), env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint } });
  });

  afterAll(async () => {
    await started?.router.close();
    await catalog?.close();
    await collector.close();
  });

  it('records each subgraph fetch as a CLIENT span under the operation\'s, and sends that span as the subgraph\'s parent', async () => {
    await post(started.url, 'query Named { product(id: "p1") { name } }', { headers: { traceparent: `00-${TRACE}-${CALLER_SPAN}-01` } });
    const sent = parseTraceparent(catalog.requests.at(-1)!.headers.traceparent);
    const spans = await collector.trace(TRACE, (found) => found.length === 2);
    const operation = spans.find((span) => span.kind === 2)!;
    expect(operation).toMatchObject({ service: 'router', name: 'query Named', parentSpanId: CALLER_SPAN });
    expect(spans.find((span) => span.kind === 3)).toEqual({
      service: 'router',
      traceId: TRACE,
      spanId: sent!.parentId,
      parentSpanId: operation.spanId,
      name: 'POST catalog',
      kind: 3,
      attributes: { 'http.request.method': 'POST', 'mercado.subgraph': 'catalog', 'mercado.deduplicated': false, 'graphql.operation.name': 'Named__catalog__0', 'http.response.status_code': 200 },
      statusCode: 0,
    });
  });

  it('marks the fetch span of a subgraph that did not answer as failed, with the reason', async () => {
    const gone = await startCatalog();
    const router = await startRouter({ supergraphSdl: composeSupergraph([gone]), env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint } });
    try {
      await gone.close();
      const trace = '5cf92f3577b34da6a3ce929d0e0e4737';
      const answer = await post(router.url, '{ product(id: "p1") { name } }', { headers: { traceparent: `00-${trace}-${CALLER_SPAN}-01` } });
      expect(answer.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      const spans = await collector.trace(trace, (found) => found.some((span) => span.kind === 3));
      expect(spans.find((span) => span.kind === 3)).toMatchObject({ name: 'POST catalog', statusCode: 2 });
    } finally {
      await router.router.close();
    }
  });
});

describe('trace-context over graphql-ws with an OTLP collector', () => {
  const collector = new OtlpReceiver();
  let stack: LiveStack;
  const clients: Client[] = [];
  const SERVER = 2;
  const CLIENT = 3;
  const CONSUMER = 5;

  beforeAll(async () => {
    const endpoint = await collector.start();
    stack = await startLiveStack({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint });
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await stack?.close();
    await collector.close();
  });

  const socket = async (trace: string) => {
    const client = wsClient(stack.wsUrl, { token: await stack.token('u1'), headers: { traceparent: `00-${trace}-${CALLER_SPAN}-01` } });
    clients.push(client);
    return client;
  };

  it('records a query sent over the socket as a SERVER span in the upgrade\'s trace, its fetches as CLIENT spans under it', async () => {
    const trace = '6df92f3577b34da6a3ce929d0e0e4738';
    const result = await record(await socket(trace), 'query OrderStatus { order(id: "o1") { status } }').result(1);
    expect(result.data).toEqual({ order: { status: 'PLACED' } });
    // At least: a surplus span fails the count below instead of leaving the wait to time out.
    const spans = await collector.trace(trace, (found) => found.length >= 2);
    expect(spans).toHaveLength(2);
    const operation = spans.find((span) => span.kind === SERVER)!;
    expect(operation).toMatchObject({ service: 'router', name: 'query OrderStatus', parentSpanId: CALLER_SPAN, statusCode: 0 });
    expect(operation.attributes).toMatchObject({ 'graphql.operation.type': 'query', 'graphql.operation.name': 'OrderStatus' });
    expect(spans.find((span) => span.kind === CLIENT)).toMatchObject({ name: 'POST orders', parentSpanId: operation.spanId });
  });

  it('records a subscription\'s setup as a SERVER span and each event as a CONSUMER span under it, with that event\'s fetches as its children', async () => {
    const trace = '7ef92f3577b34da6a3ce929d0e0e4739';
    const { orders, payments } = stack;
    const subscription = record(await socket(trace), ORDER_SUBSCRIPTION, { id: 'o1' });
    await orders.until(() => orders.pubsub.count('order:o1') === 1);
    payments.requests.length = 0;
    orders.pubsub.publish('order:o1', { id: 'o1', status: 'PAYMENT_PENDING' });
    expect((await subscription.result(1)).data).toMatchObject({ orderUpdated: { status: 'PAYMENT_PENDING' } });
    orders.pubsub.publish('order:o1', { id: 'o1', status: 'CONFIRMED' });
    expect((await subscription.result(2)).data).toMatchObject({ orderUpdated: { status: 'CONFIRMED' } });

    // The setup, two events, and each event's fetch of payments and of users.
    const spans = await collector.trace(trace, (found) => found.length >= 7);
    expect(spans).toHaveLength(7);
    const operation = spans.find((span) => span.kind === SERVER)!;
    expect(operation).toMatchObject({ name: 'subscription OrderUpdated', parentSpanId: CALLER_SPAN, statusCode: 0 });
    const events = spans.filter((span) => span.kind === CONSUMER);
    expect(events).toHaveLength(2);
    for (const event of events) {
      expect(event).toMatchObject({ name: 'subscription_event OrderUpdated', parentSpanId: operation.spanId, statusCode: 0 });
      const fetches = spans.filter((span) => span.kind === CLIENT && span.parentSpanId === event.spanId);
      expect(fetches.map((fetch) => fetch.name).sort()).toEqual(['POST payments', 'POST users']);
    }
    // The subgraph's parent is the fetch span of its event.
    const sent = parseTraceparent(payments.requests[0]!.headers.traceparent);
    expect(spans.find((span) => span.spanId === sent!.parentId)).toMatchObject({ name: 'POST payments', kind: CLIENT });
    subscription.unsubscribe();
    await subscription.ended();
  });
});
