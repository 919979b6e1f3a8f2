import type { Client } from 'graphql-ws';
import { OtlpReceiver } from '../../../subgraphs/kit/src/otlp-receiver';
import { parseTraceparent } from '../../../subgraphs/kit/src/trace-context';
import { captureLogs, post, startCatalog, startRouter, type Catalog, type StartedRouter } from '../support/fixtures';
import { record, wsClient } from '../support/live';
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
