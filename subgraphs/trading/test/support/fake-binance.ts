import { EventEmitter } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One spot market the fake lists, in Binance's own terms (`BTCUSDT`, base `BTC`, quote `USDT`). */
export interface FakeMarket {
  id: string;
  base: string;
  quote: string;
  tickSize: string;
  stepSize: string;
}

/** The parts of a Binance 24 h ticker the fake lets a test set; the rest is derived. */
export interface FakeTicker {
  lastPrice: string;
  priceChangePercent: string;
  volume: string;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** What the fake did with it. */
  outcome: 'ok' | 'failed' | 'held' | 'not-found';
}

interface HeldRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
}

const MINUTE = 60_000;

export const DEFAULT_FAKE_MARKETS: FakeMarket[] = [
  { id: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01000000', stepSize: '0.00001000' },
  { id: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01000000', stepSize: '0.00010000' },
  { id: 'SOLUSDT', base: 'SOL', quote: 'USDT', tickSize: '0.01000000', stepSize: '0.00100000' },
];

/**
 * A local HTTP server speaking the slice of Binance's spot REST API (`/api/v3`) that ccxt's
 * `binance` class calls for market data: `exchangeInfo` (loadMarkets), `ticker/24hr`
 * (fetchTickers / fetchTicker) and `klines` (fetchOHLCV). Point an exchange at it with
 * `exchange.urls.api = { ...exchange.urls.api, ...fake.apiUrls }`.
 *
 * Tests steer it: `fail(n)` answers the next n market-data requests with a 503 like Binance under
 * maintenance, `hang()` holds every request without answering until `resume()`. Every request is
 * emitted as a `request` event, so a test waits on what happened instead of sleeping.
 */
export class FakeBinance extends EventEmitter<{ request: [FakeRequest] }> {
  readonly requests: FakeRequest[] = [];
  private readonly tickers = new Map<string, FakeTicker>();
  private failures = 0;
  private failureStatus = 503;
  private failurePath: string | undefined;
  private hanging = false;
  private readonly held: HeldRequest[] = [];

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    readonly markets: FakeMarket[],
  ) {
    super();
    for (const market of markets) this.tickers.set(market.id, { lastPrice: '100.00000000', priceChangePercent: '0.000', volume: '1000.00000000' });
  }

  static async start(markets: FakeMarket[] = DEFAULT_FAKE_MARKETS): Promise<FakeBinance> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const fake = new FakeBinance(server, `http://127.0.0.1:${port}`, markets);
    server.on('request', (req, res) => fake.handle(req, res));
    return fake;
  }

  /** The `exchange.urls.api` entries ccxt's binance uses for spot market data, pointed here. */
  get apiUrls(): Record<string, string> {
    return { public: `${this.url}/api/v3`, private: `${this.url}/api/v3`, v1: `${this.url}/api/v1` };
  }

  setTicker(id: string, ticker: Partial<FakeTicker>): void {
    const current = this.tickers.get(id);
    if (!current) throw new Error(`fake binance lists no market ${id}`);
    this.tickers.set(id, { ...current, ...ticker });
  }

  /** Answers the next `count` requests (to `path` only, when given) with an HTTP error, 503 by default. */
  fail(count: number, options: { status?: number; path?: string } = {}): void {
    this.failures = count;
    this.failureStatus = options.status ?? 503;
    this.failurePath = options.path;
  }

  /** Holds every request from now on without answering, as a stalled upstream does. */
  hang(): void {
    this.hanging = true;
  }

  /** Answers again; requests held while hanging are dropped (their clients gave up on them). */
  resume(): void {
    this.hanging = false;
    for (const { res } of this.held.splice(0)) res.destroy();
  }

  async close(): Promise<void> {
    for (const { res } of this.held.splice(0)) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private record(req: IncomingMessage, url: URL, outcome: FakeRequest['outcome']): void {
    const request: FakeRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, outcome };
    this.requests.push(request);
    this.emit('request', request);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    if (this.hanging) {
      this.held.push({ req, res, url });
      this.record(req, url, 'held');
      return;
    }
    if (this.failures > 0 && (this.failurePath === undefined || this.failurePath === url.pathname)) {
      this.failures -= 1;
      this.record(req, url, 'failed');
      this.send(res, this.failureStatus, { code: -1001, msg: 'Internal error; unable to process your request. Please try again.' });
      return;
    }
    const body = this.route(url);
    if (body === undefined) {
      this.record(req, url, 'not-found');
      this.send(res, 404, { code: -1121, msg: 'Unknown endpoint.' });
      return;
    }
    this.record(req, url, 'ok');
    this.send(res, 200, body);
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private route(url: URL): unknown {
    switch (url.pathname) {
      case '/api/v3/exchangeInfo':
        return this.exchangeInfo();
      case '/api/v3/ticker/24hr':
        return this.ticker24hr(url.searchParams);
      case '/api/v3/klines':
        return this.klines(url.searchParams);
      case '/api/v3/time':
        return { serverTime: Date.now() };
      default:
        return undefined;
    }
  }

  /** Just enough of a real exchangeInfo for ccxt's parseMarket: status, assets, precisions, filters. */
  private exchangeInfo(): unknown {
    return {
      timezone: 'UTC',
      serverTime: Date.now(),
      rateLimits: [{ rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 }],
      exchangeFilters: [],
      symbols: this.markets.map((market) => ({
        symbol: market.id,
        status: 'TRADING',
        baseAsset: market.base,
        baseAssetPrecision: 8,
        quoteAsset: market.quote,
        quotePrecision: 8,
        quoteAssetPrecision: 8,
        baseCommissionPrecision: 8,
        quoteCommissionPrecision: 8,
        orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET'],
        icebergAllowed: true,
        ocoAllowed: true,
        quoteOrderQtyMarketAllowed: true,
        allowTrailingStop: true,
        cancelReplaceAllowed: true,
        isSpotTradingAllowed: true,
        isMarginTradingAllowed: false,
        filters: [
          { filterType: 'PRICE_FILTER', minPrice: market.tickSize, maxPrice: '1000000.00000000', tickSize: market.tickSize },
          { filterType: 'LOT_SIZE', minQty: market.stepSize, maxQty: '9000.00000000', stepSize: market.stepSize },
          { filterType: 'NOTIONAL', minNotional: '5.00000000', applyMinToMarket: true, maxNotional: '9000000.00000000', applyMaxToMarket: false, avgPriceMins: 5 },
        ],
        permissions: [],
        permissionSets: [['SPOT']],
        defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
        allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
      })),
    };
  }

  private tickerRow(id: string, now: number): Record<string, unknown> {
    const ticker = this.tickers.get(id)!;
    return {
      symbol: id,
      priceChange: '0.00000000',
      priceChangePercent: ticker.priceChangePercent,
      weightedAvgPrice: ticker.lastPrice,
      prevClosePrice: ticker.lastPrice,
      lastPrice: ticker.lastPrice,
      lastQty: '0.01000000',
      bidPrice: ticker.lastPrice,
      bidQty: '1.00000000',
      askPrice: ticker.lastPrice,
      askQty: '1.00000000',
      openPrice: ticker.lastPrice,
      highPrice: ticker.lastPrice,
      lowPrice: ticker.lastPrice,
      volume: ticker.volume,
      quoteVolume: '0.00000000',
      openTime: now - 24 * 60 * MINUTE,
      closeTime: now,
      firstId: 1,
      lastId: 2,
      count: 2,
    };
  }

  private ticker24hr(query: URLSearchParams): unknown {
    const now = Date.now();
    const single = query.get('symbol');
    if (single) return this.tickers.has(single) ? this.tickerRow(single, now) : { code: -1121, msg: 'Invalid symbol.' };
    const listed = query.get('symbols');
    const ids = listed ? (JSON.parse(listed) as string[]) : [...this.tickers.keys()];
    return ids.filter((id) => this.tickers.has(id)).map((id) => this.tickerRow(id, now));
  }

  /** 1m klines ending with the current (open) minute, flat at the ticker's last price. */
  private klines(query: URLSearchParams): unknown {
    const id = query.get('symbol') ?? '';
    const ticker = this.tickers.get(id);
    if (!ticker) return [];
    const limit = Math.min(Number(query.get('limit') ?? 500), 1000);
    const current = Math.floor(Date.now() / MINUTE) * MINUTE;
    const start = query.has('startTime') ? Math.max(Number(query.get('startTime')), current - (limit - 1) * MINUTE) : current - (limit - 1) * MINUTE;
    const first = Math.ceil(start / MINUTE) * MINUTE;
    const rows: unknown[] = [];
    for (let openTime = first; openTime <= current && rows.length < limit; openTime += MINUTE) {
      const p = ticker.lastPrice;
      rows.push([openTime, p, p, p, p, '1.50000000', openTime + MINUTE - 1, '0', 10, '0.75000000', '0', '0']);
    }
    return rows;
  }
}
