import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import type { TracesConfig } from './config';
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent, type TraceContext } from './trace-context';

/** A span's place in its trace: what goes on as `traceparent`. */
export interface SpanIds {
  readonly traceId: string;
  readonly spanId: string;
  /** W3C trace flags: `01` when the trace is recorded. */
  readonly flags: string;
}

/** A span of this process (a request, an event or job, a fetch, a tick): its ids go on as `traceparent`, and it is exported when it ends. */
export interface ServerSpan extends SpanIds {
  setName(name: string): void;
  setAttributes(attributes: Attributes): void;
  /** Ends the span; an HTTP status of 5xx, or `error`, marks it failed. */
  end(outcome: { statusCode?: number; error?: string }): void;
}

export interface Tracing {
  /** A SERVER span for an incoming request: in the caller's trace (`parent`), or the root of a new one. */
  startServerSpan(name: string, parent: TraceContext | null, attributes?: Attributes): ServerSpan;
  /** A CONSUMER span for an event or job taken from a queue, in the trace of the request that wrote it. */
  startConsumerSpan(name: string, parent: TraceContext | null, attributes?: Attributes): ServerSpan;
  /** The root span of a new trace for work the process starts itself (a price tick's triggers). */
  startInternalSpan(name: string, attributes?: Attributes): ServerSpan;
  /** A CLIENT span for a call this process makes under its span `parent` (the router's fetch of a subgraph). */
  startClientSpan(name: string, parent: TraceContext, attributes?: Attributes): ServerSpan;
  /** Sends the spans still waiting, then stops. */
  shutdown(): Promise<void>;
}

export interface TracingOptions extends TracesConfig {
  /** `service.name` of every span. */
  serviceName: string;
  /** How long ended spans gather before they are sent together. Default 1 s. */
  exportDelayMs?: number;
}

/** How long one batch may take, retries included, before it is given up. */
const EXPORT_TIMEOUT_MS = 10_000;
/** What OTLP/HTTP says a client retries: the collector is overloaded or briefly away. */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

/** A collector's `Retry-After` in milliseconds (seconds or an HTTP date); null without a usable one. */
function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** Exponential from 100 ms, at most 5 s, with jitter so replicas do not retry in step. */
const backoffMs = (attempt: number): number => Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);

/**
 * OTLP/HTTP with a JSON body, sent with fetch. The SDK's own HTTP exporter loads its transport with
 * a dynamic import, which Jest's module system cannot run, and tests must export for real. A batch
 * the collector cannot take now (429, 502, 503, 504, no answer) is sent again after its
 * `Retry-After` or a backoff, within EXPORT_TIMEOUT_MS; one it refuses for good is dropped.
 */
class OtlpJsonExporter implements SpanExporter {
  constructor(
    private readonly url: string,
    private readonly headers: Record<string, string>,
  ) {}

  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    const body = JsonTraceSerializer.serializeRequest(spans);
    // 0: SUCCESS, 1: FAILED (the SDK then drops the batch; spans are not worth holding up a request).
    if (!body) return done({ code: 1 });
    void this.send(body).then((sent) => done({ code: sent ? 0 : 1 }));
  }

  private async send(body: Uint8Array): Promise<boolean> {
    const deadline = Date.now() + EXPORT_TIMEOUT_MS;
    for (let attempt = 0; ; attempt += 1) {
      let waitMs: number;
      try {
        const response = await fetch(this.url, {
          method: 'POST',
          headers: { ...this.headers, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return true;
        if (!RETRYABLE_STATUSES.has(response.status)) return false;
        waitMs = retryAfterMs(response.headers.get('retry-after')) ?? backoffMs(attempt);
      } catch {
        waitMs = backoffMs(attempt);
      }
      if (Date.now() + waitMs >= deadline) return false;
      await delay(waitMs);
    }
  }

  async shutdown(): Promise<void> {}
}

/** Spans wait here at most; past it new ones are dropped rather than hold memory while the collector is away. */
const MAX_QUEUED_SPANS = 4096;

const activeSpan = new AsyncLocalStorage<SpanIds>();

/** Runs `work` as part of `span`: the events it records carry the span as their `traceparent`. */
export const inSpan = <T>(span: SpanIds, work: () => T): T => activeSpan.run(span, work);

/** The `traceparent` of the span this code runs in (a request, an event), or null outside one. */
export function currentTraceparent(): string | null {
  const span = activeSpan.getStore();
  return span ? formatTraceparent(span.traceId, span.spanId, span.flags) : null;
}

/** What a queued job carries to continue the trace of the code that queued it. */
export interface TracedJobData {
  traceparent?: string | null;
}

/** `data` with the current span as its `traceparent`: the job will run in this trace. */
export const traced = <T extends object>(data: T): T & TracedJobData => ({ ...data, traceparent: currentTraceparent() });

/**
 * Runs a queued job's (or event's) `work` in a CONSUMER span under the span that queued it, so what
 * it writes (its events) continues that trace; `outcome` names how it ended. `work` gets the span
 * for work it hands elsewhere (a batch). Without tracing it just runs, with no span.
 */
export async function inJobSpan<T>(
  tracing: Tracing | undefined,
  name: string,
  job: { id?: string; queueName: string; data: TracedJobData },
  work: (span: SpanIds | null) => Promise<T>,
  options: { attributes?: Attributes; outcome?: (result: T) => Attributes } = {},
): Promise<T> {
  const span = tracing?.startConsumerSpan(name, parseTraceparent(job.data.traceparent ?? undefined), {
    'messaging.system': 'bullmq',
    'messaging.destination.name': job.queueName,
    'messaging.message.id': job.id ?? '',
    ...options.attributes,
  });
  if (!span) return work(null);
  try {
    const result = await inSpan(span, () => work(span));
    if (options.outcome) span.setAttributes(options.outcome(result));
    span.end({});
    return result;
  } catch (error) {
    span.end({ error: error instanceof Error ? error.message : String(error) });
    throw error;
  }
}

/** Without an endpoint: the same ids and trace as with one, and nothing recorded. */
function idsOnly(): Tracing {
  const start = (_name: string, parent: TraceContext | null): ServerSpan => ({
    traceId: parent?.traceId ?? newTraceId(),
    spanId: newSpanId(),
    flags: parent?.flags ?? '00',
    setName() {},
    setAttributes() {},
    end() {},
  });
  return { startServerSpan: start, startConsumerSpan: start, startInternalSpan: (name) => start(name, null), startClientSpan: start, async shutdown() {} };
}

/**
 * OpenTelemetry tracing of one process: each request a SERVER span and each event taken from a
 * queue a CONSUMER span, exported over OTLP/HTTP to a
 * collector (Jaeger, Tempo, an OpenTelemetry Collector) in batches. New traces are sampled by
 * `sampleRatio`; a caller's `traceparent` decides for its own trace, so one trace is recorded in
 * every process or in none.
 */
export function createTracing(options: TracingOptions): Tracing {
  if (!options.endpoint) return idsOnly();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OtlpJsonExporter(options.endpoint, options.headers),
        scheduledDelayMillis: options.exportDelayMs ?? 1000,
        maxQueueSize: MAX_QUEUED_SPANS,
      }),
    ],
  });
  const tracer = provider.getTracer('mercado');
  const start = (kind: SpanKind, name: string, parent: TraceContext | null, attributes?: Attributes): ServerSpan => {
    const context = parent
      ? trace.setSpanContext(ROOT_CONTEXT, {
          traceId: parent.traceId,
          spanId: parent.parentId,
          traceFlags: parseInt(parent.flags, 16) & TraceFlags.SAMPLED,
          isRemote: true,
        })
      : ROOT_CONTEXT;
    const span = tracer.startSpan(name, { kind, attributes }, context);
    const ids = span.spanContext();
    return {
      traceId: ids.traceId,
      spanId: ids.spanId,
      flags: ids.traceFlags & TraceFlags.SAMPLED ? '01' : '00',
      setName: (spanName) => span.updateName(spanName),
      setAttributes: (more) => span.setAttributes(more),
      end({ statusCode, error }) {
        if (statusCode !== undefined) span.setAttribute('http.response.status_code', statusCode);
        if (error || (statusCode ?? 0) >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: error ?? `HTTP ${statusCode}` });
        span.end();
      },
    };
  };
  return {
    startServerSpan: (name, parent, attributes) => start(SpanKind.SERVER, name, parent, attributes),
    startConsumerSpan: (name, parent, attributes) => start(SpanKind.CONSUMER, name, parent, attributes),
    startInternalSpan: (name, attributes) => start(SpanKind.INTERNAL, name, null, attributes),
    startClientSpan: (name, parent, attributes) => start(SpanKind.CLIENT, name, parent, attributes),
    shutdown: () => provider.shutdown(),
  };
}
