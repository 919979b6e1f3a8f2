import { print } from 'graphql';
import { StorefrontDocument } from '../../../schema/generated/operations';
import { OtlpReceiver } from '../../../subgraphs/kit/src/otlp-receiver';
import { graphqlRequest } from '../../../subgraphs/kit/src/testing';
import { newSpanId, newTraceId } from '../../../subgraphs/kit/src/trace-context';
import { SUBGRAPH_NAMES, startStack, type Stack } from './stack';

describe('one trace across the router and the subgraphs, exported over OTLP/HTTP', () => {
  const collector = new OtlpReceiver();
  let stack: Stack;

  beforeAll(async () => {
    const endpoint = await collector.start();
    const traces = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint };
    stack = await startStack({ routerEnv: traces, env: Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, traces])) });
  });

  afterAll(async () => {
    await stack?.close();
    await collector.close();
  });

  const storefront = (traceparent: string, token?: string) =>
    graphqlRequest(stack.routerUrl, print(StorefrontDocument), { variables: { first: 3 }, token, headers: { traceparent } });

  it('records the operation as the router\'s span under the caller\'s, and each subgraph fetch as a child of it', async () => {
    const caller = { traceId: newTraceId(), spanId: newSpanId() };
    stack.resetCalls();
    const token = await stack.mintToken('00000000-0000-4000-8000-00000000c0de');
    const answered = await storefront(`00-${caller.traceId}-${caller.spanId}-01`, token);
    expect(answered.errors).toBeUndefined();
    const called = Object.entries(stack.calls).filter(([, count]) => count > 0).map(([name]) => name).sort();
    expect(called).toEqual(['catalog', 'inventory', 'users']);

    const spans = await collector.trace(caller.traceId, (found) => ['router', ...called].every((service) => found.some((span) => span.service === service)));
    const router = spans.filter((span) => span.service === 'router');
    expect(router).toEqual([
      expect.objectContaining({ name: 'query Storefront', kind: 2, parentSpanId: caller.spanId, statusCode: 0, attributes: expect.objectContaining({ 'graphql.operation.name': 'Storefront', 'http.response.status_code': 200 }) }),
    ]);
    for (const service of called) {
      const fetches = spans.filter((span) => span.service === service);
      expect(fetches.length).toBeGreaterThan(0);
      for (const fetch of fetches) {
        expect(fetch).toMatchObject({ kind: 2, parentSpanId: router[0]!.spanId, attributes: { 'http.route': 'graphql', 'http.response.status_code': 200 } });
        // The router names each fetch after the operation and the subgraph.
        expect(fetch.name).toMatch(new RegExp(`^Storefront__${service}__\\d+$`));
      }
    }
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
