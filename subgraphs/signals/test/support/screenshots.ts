/** Test helpers of the screenshot pipeline: a route server, a TradingView stand-in, PNG pixels, result waiting. */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inflateSync } from 'node:zlib';
import { createLogger, type Route } from '../../../kit/src';
import type { ScreenshotJobData, ScreenshotResult } from '../../src/screenshots/screenshot.service';

export const silentLog = createLogger('signals-screenshots-test', 'silent');

async function listen(server: http.Server): Promise<{ baseUrl: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serves `routes()` the way the kit's subgraph server dispatches its extra routes (method, path, params). */
export function serveRoutes(routes: () => Route[]): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    for (const route of routes()) {
      if (route.method !== req.method) continue;
      const match = typeof route.path === 'string' ? (route.path === url.pathname ? [url.pathname] : null) : route.path.exec(url.pathname);
      if (!match) continue;
      Promise.resolve(route.handle({ req, res, url, params: match.slice(1), requestId: randomUUID(), log: silentLog, body: Buffer.alloc(0) })).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
      return;
    }
    res.writeHead(404).end();
  });
  return listen(server);
}

export interface StandInRequest {
  path: string;
  cookie: string | undefined;
  status: number;
}

/** The colour the stand-in TradingView chart is painted with. */
export const STAND_IN_COLOR = [255, 0, 255] as const;

/**
 * Stands in for www.tradingview.com: `/chart/<id>/` shows a chart (a magenta `.chart-markup-table`)
 * only to a browser sending the session cookie `sessionid=<session>`; without it, it redirects to
 * the sign-in page as TradingView does.
 */
export async function startTradingViewStandIn(session: string): Promise<{ baseUrl: string; requests: StandInRequest[]; close(): Promise<void> }> {
  const requests: StandInRequest[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const cookie = req.headers.cookie;
    if (/^\/chart\/[A-Za-z0-9]+\/$/.test(url.pathname)) {
      const signedIn = (cookie ?? '').split(/;\s*/).includes(`sessionid=${session}`);
      requests.push({ path: url.pathname, cookie, status: signedIn ? 200 : 302 });
      if (!signedIn) {
        res.writeHead(302, { location: `/accounts/signin/?next=${encodeURIComponent(url.pathname)}` }).end();
        return;
      }
      const [r, g, b] = STAND_IN_COLOR;
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><html><body style="margin:0"><div class="chart-markup-table" style="position:fixed;inset:0;background:rgb(${r},${g},${b})"><h1>chart ${url.pathname}</h1></div></body></html>`);
      return;
    }
    if (url.pathname === '/accounts/signin/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><h1>Sign in</h1>');
      return;
    }
    res.writeHead(404).end();
  });
  return { ...(await listen(server)), requests };
}

export interface DecodedPng {
  width: number;
  height: number;
  /** Bytes per pixel (3 RGB, 4 RGBA). */
  channels: number;
  pixels: Buffer;
}

/** Decodes an 8-bit, non-interlaced RGB(A) PNG (what Chromium writes): inflate IDAT, undo the row filters. */
export function decodePng(png: Uint8Array): DecodedPng {
  const bytes = Buffer.from(png);
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  const [depth, colorType, , , interlace] = bytes.subarray(24, 29);
  if (depth !== 8 || (colorType !== 2 && colorType !== 6) || interlace !== 0) throw new Error(`unsupported PNG (depth ${depth}, color type ${colorType}, interlace ${interlace})`);
  const channels = colorType === 6 ? 4 : 3;
  const idat: Buffer[] = [];
  for (let offset = 8; offset < bytes.length; ) {
    const length = bytes.readUInt32BE(offset);
    if (bytes.toString('latin1', offset + 4, offset + 8) === 'IDAT') idat.push(bytes.subarray(offset + 8, offset + 8 + length));
    offset += length + 12;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x += 1) {
      const left = x >= channels ? pixels[y * stride + x - channels]! : 0;
      const up = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const upLeft = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels]! : 0;
      let predictor = 0;
      if (filter === 1) predictor = left;
      else if (filter === 2) predictor = up;
      else if (filter === 3) predictor = (left + up) >> 1;
      else if (filter === 4) {
        const p = left + up - upLeft;
        const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
        predictor = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      }
      pixels[y * stride + x] = (line[x]! + predictor) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/** Distinct RGB colours, and how many pixels have each (as `r,g,b` keys). */
export function colorCounts(image: DecodedPng): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < image.pixels.length; i += image.channels) {
    const key = `${image.pixels[i]},${image.pixels[i + 1]},${image.pixels[i + 2]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Collects onResult calls; `next` resolves with a signal's result (already received or to come). */
export class ResultLog {
  readonly results: ScreenshotResult[] = [];
  private readonly waiters: { signalId: string; resolve: (result: ScreenshotResult) => void }[] = [];

  readonly onResult = (result: ScreenshotResult): void => {
    this.results.push(result);
    for (const waiter of this.waiters.filter((candidate) => candidate.signalId === result.signalId)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(result);
    }
  };

  next(signalId: string): Promise<ScreenshotResult> {
    const seen = this.results.find((result) => result.signalId === signalId);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ signalId, resolve }));
  }
}

/** A promise with its resolve exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Polls `check` (every 25 ms) until it returns something truthy; fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A signal's job data with sensible defaults. */
export function jobData(overrides: Partial<ScreenshotJobData> = {}): ScreenshotJobData {
  return {
    signalId: randomUUID(),
    userId: 'user-1',
    plan: 'free',
    symbol: 'BTC/USDT',
    exchange: 'BINANCE',
    timeframe: '15m',
    price: '67000.5',
    action: 'BUY',
    receivedAt: new Date().toISOString(),
    chartId: null,
    takeProfit: '68000',
    stopLoss: '66500',
    tradingView: null,
    ...overrides,
  };
}

/** Processes (pid) descending from `pid`, read from /proc. */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the parenthesised command name: state, ppid, …
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/** True while a process exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The trading subgraph's `candles` query, answered with hourly-ish candles up to now so our chart draws. */
export async function startFakeTrading(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const end = Math.floor(Date.now() / 900_000) * 900_000;
      const candles = Array.from({ length: 120 }, (_, i) => ({
        openTime: new Date(end - (119 - i) * 900_000).toISOString(),
        open: '67000',
        high: `${67100 + (i % 5) * 20}`,
        low: '66900',
        close: i % 2 ? '67050' : '66980',
        volume: '3',
      }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { candles } }));
    });
  });
  const { baseUrl, close } = await listen(server);
  return { url: `${baseUrl}/graphql`, close };
}
