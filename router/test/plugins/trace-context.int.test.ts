import type { Client } from 'graphql-ws';
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
