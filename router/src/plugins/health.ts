import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { RouterPlugin } from './types';

export interface HealthPluginOptions {
  /** The supergraph currently served, or null before it loaded. */
  supergraph(): { id: string; subgraphs: { name: string; url: string }[] } | null;
  /** The pool subgraph requests go through (the readiness probe reuses its connections). */
  dispatcher: Dispatcher;
  /** Per-subgraph probe timeout. */
  timeoutMs?: number;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * `GET /health`: the process is alive. `GET /ready`: a supergraph is loaded and every subgraph in it
 * answers its own `/health` (at the origin of its routing URL) with 200; 503 names what fails.
 */
export function healthPlugin(options: HealthPluginOptions): RouterPlugin {
  const timeoutMs = options.timeoutMs ?? 2_000;

  async function probe(url: string): Promise<string> {
    try {
      const origin = new URL(url).origin;
      const response = await options.dispatcher.request({ origin, path: '/health', method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      await response.body.dump();
      return response.statusCode === 200 ? 'ok' : `failing: HTTP ${response.statusCode}`;
    } catch (error) {
      const code = (error as { code?: string }).code;
      return `failing: ${code === 'UND_ERR_HEADERS_TIMEOUT' ? `no answer within ${timeoutMs} ms` : (code ?? (error as Error).message)}`;
    }
  }

  async function ready(res: ServerResponse): Promise<true> {
    const supergraph = options.supergraph();
    if (!supergraph) {
      send(res, 503, { status: 'not ready', supergraph: 'not loaded', subgraphs: {} });
      return true;
    }
    const results = await Promise.all(supergraph.subgraphs.map(async ({ name, url }) => [name, await probe(url)] as const));
    const isReady = results.every(([, result]) => result === 'ok');
    send(res, isReady ? 200 : 503, { status: isReady ? 'ready' : 'not ready', supergraph: supergraph.id, subgraphs: Object.fromEntries(results) });
    return true;
  }

  return {
    name: 'health',
    // Synchronous unless it answers, so other requests pay no promise for it.
    onRequest(exchange) {
      if (exchange.method !== 'GET') return false;
      if (exchange.path === '/health') {
        exchange.route = 'health';
        send(exchange.res, 200, { status: 'ok', service: 'router' });
        return true;
      }
      if (exchange.path !== '/ready') return false;
      exchange.route = 'ready';
      return ready(exchange.res);
    },
  };
}
