import { OtlpReceiver } from '../src/otlp-receiver';
import { newSpanId, newTraceId } from '../src/trace-context';
import { createTracing } from '../src/tracing';

describe('tracing: request spans exported over OTLP/HTTP', () => {
  const collector = new OtlpReceiver();
  let endpoint: string;

  beforeAll(async () => {
    endpoint = await collector.start();
  });

  afterAll(async () => {
    await collector.close();
  });

  it('exports a SERVER span in the caller\'s trace, under the caller\'s span, with its name, attributes and failure', async () => {
    const tracing = createTracing({ endpoint, sampleRatio: 0, headers: { authorization: 'Bearer collector-key' }, serviceName: 'catalog', exportDelayMs: 10 });
    const parent = { traceId: newTraceId(), parentId: newSpanId(), flags: '01' };
    // A sampled caller is recorded even where new traces are not (ratio 0).
    const span = tracing.startServerSpan('POST /graphql', parent, { 'http.request.method': 'POST' });
    expect({ traceId: span.traceId, flags: span.flags }).toEqual({ traceId: parent.traceId, flags: '01' });
    expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(span.spanId).not.toBe(parent.parentId);
    span.setName('Products__catalog__0');
    span.end({ statusCode: 200 });
    const failing = tracing.startServerSpan('POST request', parent);
    failing.end({ statusCode: 503 });

    const spans = await collector.trace(parent.traceId, (found) => found.length === 2);
    expect(spans.find((found) => found.spanId === span.spanId)).toEqual({
      service: 'catalog',
      traceId: parent.traceId,
      spanId: span.spanId,
      parentSpanId: parent.parentId,
      name: 'Products__catalog__0',
      kind: 2,
      attributes: { 'http.request.method': 'POST', 'http.response.status_code': 200 },
      statusCode: 0,
    });
    expect(spans.find((found) => found.spanId === failing.spanId)).toMatchObject({ statusCode: 2, attributes: { 'http.response.status_code': 503 } });
    expect(collector.requestHeaders.map((headers) => headers.authorization)).toContain('Bearer collector-key');
    await tracing.shutdown();
  });

  it('samples new traces by ratio and never records a trace its caller did not sample', async () => {
    const tracing = createTracing({ endpoint, sampleRatio: 1, headers: {}, serviceName: 'orders', exportDelayMs: 10 });
    const unsampled = { traceId: newTraceId(), parentId: newSpanId(), flags: '00' };
    const quiet = tracing.startServerSpan('POST /graphql', unsampled);
    expect(quiet.flags).toBe('00');
    quiet.end({ statusCode: 200 });
    const root = tracing.startServerSpan('POST /graphql', null);
    expect(root.flags).toBe('01');
    root.end({ statusCode: 200 });
    // Shutting down sends what was recorded: the root, and nothing of the unsampled trace.
    await tracing.shutdown();
    expect(await collector.trace(root.traceId, (found) => found.length === 1)).toEqual([expect.objectContaining({ parentSpanId: '', service: 'orders' })]);
    expect(collector.spans.filter((found) => found.traceId === unsampled.traceId)).toEqual([]);
  });

  it('exports an INTERNAL span as the root of a new trace, sampled by ratio', async () => {
    const tracing = createTracing({ endpoint, sampleRatio: 1, headers: {}, serviceName: 'trading', exportDelayMs: 10 });
    const span = tracing.startInternalSpan('fire BTC/USDT', { 'mercado.orders.fired': 3 });
    expect(span.flags).toBe('01');
    span.end({});
    const unrecorded = createTracing({ endpoint, sampleRatio: 0, headers: {}, serviceName: 'trading', exportDelayMs: 10 });
    const skipped = unrecorded.startInternalSpan('fire ETH/USDT');
    expect(skipped.flags).toBe('00');
    skipped.end({});
    await Promise.all([tracing.shutdown(), unrecorded.shutdown()]);
    expect(await collector.trace(span.traceId, (found) => found.length === 1)).toEqual([
      { service: 'trading', traceId: span.traceId, spanId: span.spanId, parentSpanId: '', name: 'fire BTC/USDT', kind: 1, attributes: { 'mercado.orders.fired': 3 }, statusCode: 0 },
    ]);
    expect(collector.spans.filter((found) => found.traceId === skipped.traceId)).toEqual([]);
  });

  it('sends a batch again while the collector cannot take it, and drops one it refuses for good', async () => {
    const tracing = createTracing({ endpoint, sampleRatio: 1, headers: {}, serviceName: 'payments', exportDelayMs: 10 });
    const exportsBefore = collector.requestHeaders.length;
    // Overloaded twice (once with a Retry-After of 0 s), then it takes the batch.
    collector.refuseNext({ status: 503 }, { status: 429, retryAfter: '0' });
    const kept = tracing.startInternalSpan('kept');
    kept.end({});
    await collector.trace(kept.traceId, (found) => found.length === 1);
    expect(collector.requestHeaders.length - exportsBefore).toBe(3);

    collector.refuseNext({ status: 400 });
    const refused = tracing.startInternalSpan('refused');
    refused.end({});
    await collector.refusedAll();
    const after = tracing.startInternalSpan('after');
    after.end({});
    await collector.trace(after.traceId, (found) => found.length === 1);
    expect(collector.spans.filter((found) => found.traceId === refused.traceId)).toEqual([]);
    await tracing.shutdown();
  });

  it('without an endpoint keeps the caller\'s trace and starts new ones, recording nothing', async () => {
    const tracing = createTracing({ endpoint: undefined, sampleRatio: 1, headers: {}, serviceName: 'users' });
    const parent = { traceId: newTraceId(), parentId: newSpanId(), flags: '01' };
    const joined = tracing.startServerSpan('POST /graphql', parent);
    expect({ traceId: joined.traceId, flags: joined.flags }).toEqual({ traceId: parent.traceId, flags: '01' });
    const fresh = tracing.startServerSpan('POST /graphql', null);
    expect(fresh.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(fresh.traceId).not.toBe(parent.traceId);
    await tracing.shutdown();
  });
});
