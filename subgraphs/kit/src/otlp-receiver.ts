import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One span as a collector received it over OTLP/HTTP (JSON). */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 2 = SERVER. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
  status?: { code?: number };
}
interface OtlpBody {
  resourceSpans?: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

const valueOf = (value: OtlpValue): string | number | boolean =>
  value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.doubleValue ?? value.boolValue ?? '';
const attributesOf = (attributes: OtlpAttribute[] = []) => Object.fromEntries(attributes.map((attribute) => [attribute.key, valueOf(attribute.value)]));

/**
 * A trace collector for tests: an HTTP server on port 0 that takes OTLP/HTTP JSON exports
 * (`POST /v1/traces`) and keeps their spans.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** The headers of every export received. */
  readonly requestHeaders: http.IncomingHttpHeaders[] = [];
  private readonly arrivals = new EventEmitter();
  private readonly refusals: { status: number; retryAfter?: string }[] = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.requestHeaders.push(req.headers);
      const refusal = this.refusals.shift();
      if (refusal) {
        res.writeHead(refusal.status, refusal.retryAfter ? { 'retry-after': refusal.retryAfter } : {});
        res.end();
        this.arrivals.emit('refused');
        return;
      }
      const raw = Buffer.concat(chunks);
      const body = JSON.parse((req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8')) as OtlpBody;
      for (const resourceSpans of body.resourceSpans ?? []) {
        const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name'] ?? '');
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            this.spans.push({
              service,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              name: span.name,
              kind: span.kind,
              attributes: attributesOf(span.attributes),
              statusCode: span.status?.code ?? 0,
            });
          }
        }
      }
      this.arrivals.emit('spans');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });

  /** Listens; answers the traces endpoint (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`). */
  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/traces`;
  }

  /** Answers the next exports with these statuses instead of taking their spans (a collector overloaded or refusing). */
  refuseNext(...refusals: { status: number; retryAfter?: string }[]): void {
    this.refusals.push(...refusals);
  }

  /** Resolves once every refusal asked for has been answered. */
  async refusedAll(): Promise<void> {
    while (this.refusals.length > 0) await once(this.arrivals, 'refused');
  }

  /** Resolves once `done` holds for the spans received (they arrive in batches, from several processes). */
  async until(done: (spans: ReceivedSpan[]) => boolean): Promise<void> {
    while (!done(this.spans)) await once(this.arrivals, 'spans');
  }

  /** The spans of `traceId` once `done` holds for them. */
  async trace(traceId: string, done: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> {
    const current = () => this.spans.filter((span) => span.traceId === traceId);
    await this.until(() => done(current()));
    return current();
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
