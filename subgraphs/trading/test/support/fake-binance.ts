import { createHmac, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Decimal as BaseDecimal } from 'decimal.js';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { ApiUrls } from '../../src/exchange/api-urls';

/** Enough digits that quantity × price of two 8-decimal numbers is exact. */
const Decimal = BaseDecimal.clone({ precision: 40 });
type Decimal = BaseDecimal;

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

/** Binance's error body. */
export interface BinanceError {
  code: number;
  msg: string;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Query string and form body together, as Binance reads them. */
  params: URLSearchParams;
  /** The `X-MBX-APIKEY` header, when sent. */
  apiKey: string | null;
  /**
   * What the fake did with it: `refused` answered with a Binance error (`error`), `unanswered` was
   * carried out but its answer withheld (see `holdResponses`), `held` was not even looked at (`hang`).
   */
  outcome: 'ok' | 'failed' | 'held' | 'not-found' | 'refused' | 'unanswered';
  error?: BinanceError;
}

/** A message a client sent on a market stream connection (ccxt sends `SUBSCRIBE`). */
export interface FakeStreamMessage {
  /** The connection's number, counting from 1 in the order they opened. */
  connection: number;
  method: string;
  params: unknown;
  id: unknown;
}

export interface FakeBalance {
  free: string;
  locked: string;
}

type OrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED';
type OrderType = 'LIMIT' | 'LIMIT_MAKER' | 'MARKET' | 'STOP_LOSS' | 'STOP_LOSS_LIMIT' | 'TAKE_PROFIT' | 'TAKE_PROFIT_LIMIT';

interface FakeOrder {
  apiKey: string;
  market: FakeMarket;
  orderId: number;
  clientOrderId: string;
  side: 'BUY' | 'SELL';
  type: OrderType;
  timeInForce: string | null;
  price: Decimal;
  origQty: Decimal;
  executedQty: Decimal;
  cummulativeQuoteQty: Decimal;
  stopPrice: Decimal;
  icebergQty: Decimal;
  trailingDelta: number | null;
  /** Best price seen since a trailing stop was placed (highest for a sell, lowest for a buy). */
  trailingExtreme: Decimal | null;
  /** A stop order whose condition was met: it now works as a market or limit order. */
  triggered: boolean;
  status: OrderStatus;
  time: number;
  updateTime: number;
  /** Funds locked for this order and not yet spent, in `reservedAsset`. */
  reserved: Decimal;
  reservedAsset: string;
}

interface FakeTrade {
  apiKey: string;
  symbol: string;
  id: number;
  orderId: number;
  side: 'BUY' | 'SELL';
  price: Decimal;
  qty: Decimal;
  quoteQty: Decimal;
  commission: Decimal;
  commissionAsset: string;
  time: number;
  isMaker: boolean;
}

interface FakeAccount {
  secret: string;
  balances: Map<string, { free: Decimal; locked: Decimal }>;
  /** Binance's "pay fees with BNB": the commission in this asset, valued at `price` quote units per unit. */
  feeAsset?: { asset: string; price: Decimal };
}

interface HeldRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
}

/** A Binance error answer, thrown inside a handler. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    readonly msg: string,
  ) {
    super(msg);
  }
}

const MINUTE = 60_000;
/** Binance's default: 0.1 % of what the account receives. */
const COMMISSION_RATE = new Decimal('0.001');
const MIN_NOTIONAL = new Decimal('5');
const MAX_QTY = new Decimal('9000');
const MAX_ICEBERG_PARTS = 10;
const CLIENT_ORDER_ID = /^[.A-Z:/a-z0-9_-]{1,36}$/;
const ORDER_TYPES: readonly OrderType[] = ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT', 'TAKE_PROFIT_LIMIT'];
const LIMIT_PRICED: readonly OrderType[] = ['LIMIT', 'LIMIT_MAKER', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'];
const STOP_TYPES: readonly OrderType[] = ['STOP_LOSS', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT', 'TAKE_PROFIT_LIMIT'];
const SIGNED_PATHS = new Set(['/api/v3/account', '/api/v3/order', '/api/v3/openOrders', '/api/v3/myTrades']);

const fixed = (value: Decimal): string => value.toFixed(8);
const miniTickerStream = (id: string): string => `${id.toLowerCase()}@miniTicker`;
const isMultiple = (value: Decimal, step: Decimal): boolean => value.mod(step).isZero();
const mandatory = (name: string): Refusal => new Refusal(400, -1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
const filterFailure = (filter: string): Refusal => new Refusal(400, -1013, `Filter failure: ${filter}`);
const rejected = (msg: string): Refusal => new Refusal(400, -2010, msg);

export const DEFAULT_FAKE_MARKETS: FakeMarket[] = [
  { id: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01000000', stepSize: '0.00001000' },
  { id: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01000000', stepSize: '0.00010000' },
  { id: 'SOLUSDT', base: 'SOL', quote: 'USDT', tickSize: '0.01000000', stepSize: '0.00100000' },
];

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    // A client that gave up mid-body: whatever arrived.
    req.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** A raw query or form body without its `signature` parameter, order kept: what the client signed. */
function withoutSignature(raw: string): string {
  return raw
    .split('&')
    .filter((part) => part !== '' && !part.startsWith('signature='))
    .join('&');
}

/**
 * A local HTTP server speaking the slice of Binance's spot REST API (`/api/v3`) that ccxt's
 * `binance` class calls. Market data: `exchangeInfo` (loadMarkets), `ticker/24hr` (fetchTickers /
 * fetchTicker) and `klines` (fetchOHLCV). Trading, signed like Binance (HMAC-SHA256 of the query
 * and body with the account's secret, key in `X-MBX-APIKEY`, `timestamp` within `recvWindow`):
 * `account` (fetchBalance), `order` POST/GET/DELETE (createOrder / fetchOrder / cancelOrder),
 * `openOrders` and `myTrades` (fetchMyTrades / fetchOrderTrades). Market streams on WebSockets at
 * `/ws` (ccxt.pro's watchTickers): SUBSCRIBE to `<symbol>@miniTicker` sends the ticker at once and
 * again whenever it changes. Point an exchange at it with `replaceApiUrls(exchange, fake.apiUrls)`.
 *
 * Orders match against the ticker's last price, like a thin book at that price: MARKET fills at
 * once; LIMIT fills at once when marketable, otherwise rests and fills at its price when the price
 * reaches it; stop orders (stop price or `trailingDelta` in basis points) rest until triggered and
 * then act as MARKET or LIMIT. Fills pay Binance's default 0.1 % commission in the asset received.
 * It refuses what Binance refuses, with Binance's codes and messages: bad key (-2014/-2015), bad
 * signature (-1022), stale timestamp (-1021), missing parameters (-1102), filters (-1013), funds,
 * duplicate open client order ids and stops that would trigger at once (-2010), unknown orders
 * (-2013/-2011).
 *
 * Tests steer it: `fail(n)` answers the next n requests with a 503 like Binance under maintenance,
 * `hang()` holds every request without looking at it until `resume()`, `holdResponses(n)` carries
 * out the next n requests but never answers them (the client times out not knowing what happened),
 * `dropStreams()` cuts the stream connections, `setTicker`/`setPrice` move the price (and match
 * resting orders), `fill` fills part of a resting order. Every request is emitted as a `request`
 * event and kept in `requests`, every stream message as a `stream` event in `streamMessages` (and a
 * closed connection as `streamClosed`), so a test waits on what happened instead of sleeping.
 */
export class FakeBinance extends EventEmitter<{ request: [FakeRequest]; stream: [FakeStreamMessage]; streamClosed: [number] }> {
  readonly requests: FakeRequest[] = [];
  readonly streamMessages: FakeStreamMessage[] = [];
  /** Stream connections opened so far. */
  streamConnections = 0;
  private readonly streams = new Map<WebSocket, { connection: number; subscribed: Set<string> }>();
  private readonly streamServer = new WebSocketServer({ noServer: true });
  private readonly tickers = new Map<string, FakeTicker>();
  private readonly accounts = new Map<string, FakeAccount>();
  private readonly orders: FakeOrder[] = [];
  private readonly trades: FakeTrade[] = [];
  private nextOrderId = 1000;
  private nextTradeId = 5000;
  private failures = 0;
  private failureStatus = 503;
  private failurePath: string | undefined;
  private hanging = false;
  private unanswered = 0;
  private unansweredPath: string | undefined;
  private unansweredMethod: string | undefined;
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
    server.on('request', (req, res) => {
      fake.handle(req, res).catch(() => res.destroy());
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => fake.upgrade(req, socket, head));
    return fake;
  }

  /** The `exchange.urls.api` entries ccxt's binance uses for spot market data, streams and trading, pointed here. */
  get apiUrls(): ApiUrls {
    const streams = `${this.url.replace(/^http/, 'ws')}/ws`;
    return { public: `${this.url}/api/v3`, private: `${this.url}/api/v3`, v1: `${this.url}/api/v1`, ws: { spot: streams } };
  }

  /** Stream connections open now. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Cuts every stream connection without a close handshake, as a network failure does. */
  dropStreams(): void {
    for (const socket of this.streams.keys()) socket.terminate();
  }

  /** Opens an account reachable with this key and secret; `balances` are free amounts per asset. */
  addAccount(apiKey: string, secret: string, balances: Record<string, string> = {}, options: { feeAsset?: { asset: string; price: string } } = {}): void {
    const account: FakeAccount = { secret, balances: new Map() };
    if (options.feeAsset) account.feeAsset = { asset: options.feeAsset.asset, price: new Decimal(options.feeAsset.price) };
    for (const [asset, free] of Object.entries(balances)) account.balances.set(asset, { free: new Decimal(free), locked: new Decimal(0) });
    this.accounts.set(apiKey, account);
  }

  balance(apiKey: string, asset: string): FakeBalance {
    const entry = this.accountOf(apiKey).balances.get(asset);
    return { free: fixed(entry?.free ?? new Decimal(0)), locked: fixed(entry?.locked ?? new Decimal(0)) };
  }

  /** An order as GET /api/v3/order shows it, by Binance order id or client order id. */
  order(ref: number | string): Record<string, unknown> {
    return this.orderJson(this.findOrder(ref));
  }

  setTicker(id: string, ticker: Partial<FakeTicker>): void {
    const current = this.tickers.get(id);
    if (!current) throw new Error(`fake binance lists no market ${id}`);
    this.tickers.set(id, { ...current, ...ticker });
    if (ticker.lastPrice !== undefined) this.match(id);
    this.pushMiniTicker(id);
  }

  /** Moves the last price; resting orders the new price reaches fill. */
  setPrice(id: string, price: string): void {
    this.setTicker(id, { lastPrice: new Decimal(price).toFixed(8) });
  }

  /** Fills `quantity` of a resting order at its limit price, as if another trader took it. */
  fill(ref: number | string, quantity: string): void {
    const order = this.findOrder(ref);
    if (!this.isOpen(order) || !LIMIT_PRICED.includes(order.type)) throw new Error(`order ${ref} is not a resting limit order`);
    const qty = new Decimal(quantity);
    if (qty.gt(order.origQty.minus(order.executedQty))) throw new Error(`order ${ref} has less than ${quantity} left`);
    this.execute(order, qty, order.price, true);
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

  /**
   * Carries out the next `count` requests (to `path` and with `method` only, when given) but never
   * answers them: the order is placed, the client times out without knowing. Answers are dropped on
   * `resume()`/`close()`.
   */
  holdResponses(count: number, options: { path?: string; method?: string } = {}): void {
    this.unanswered = count;
    this.unansweredPath = options.path;
    this.unansweredMethod = options.method;
  }

  /** Answers again; requests held while hanging are dropped (their clients gave up on them). */
  resume(): void {
    this.hanging = false;
    for (const { res } of this.held.splice(0)) res.destroy();
  }

  async close(): Promise<void> {
    for (const { res } of this.held.splice(0)) res.destroy();
    this.dropStreams();
    this.streamServer.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private record(request: Omit<FakeRequest, 'outcome' | 'error'>, outcome: FakeRequest['outcome'], error?: BinanceError): void {
    const recorded: FakeRequest = { ...request, outcome, ...(error ? { error } : {}) };
    this.requests.push(recorded);
    this.emit('request', recorded);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const body = await readBody(req);
    const params = new URLSearchParams(url.search);
    for (const [name, value] of new URLSearchParams(body)) params.append(name, value);
    const header = req.headers['x-mbx-apikey'];
    const request = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, params, apiKey: typeof header === 'string' ? header : null };
    if (this.hanging) {
      this.held.push({ req, res, url });
      this.record(request, 'held');
      return;
    }
    if (this.failures > 0 && (this.failurePath === undefined || this.failurePath === url.pathname)) {
      this.failures -= 1;
      this.record(request, 'failed');
      this.send(res, this.failureStatus, { code: -1001, msg: 'Internal error; unable to process your request. Please try again.' });
      return;
    }
    let status = 200;
    let answer: unknown;
    let error: BinanceError | undefined;
    try {
      if (SIGNED_PATHS.has(url.pathname)) {
        const apiKey = this.authenticate(request.apiKey, url, body, params);
        answer = this.routeSigned(request.method, url.pathname, apiKey, params);
      } else {
        answer = this.route(url);
      }
    } catch (thrown) {
      if (!(thrown instanceof Refusal)) throw thrown;
      status = thrown.status;
      error = { code: thrown.code, msg: thrown.msg };
      answer = error;
    }
    const heldHere = (this.unansweredPath === undefined || this.unansweredPath === url.pathname) && (this.unansweredMethod === undefined || this.unansweredMethod === request.method);
    if (this.unanswered > 0 && heldHere) {
      this.unanswered -= 1;
      this.held.push({ req, res, url });
      this.record(request, 'unanswered', error);
      return;
    }
    if (answer === undefined) {
      this.record(request, 'not-found');
      this.send(res, 404, { code: -1121, msg: 'Unknown endpoint.' });
      return;
    }
    this.record(request, error ? 'refused' : 'ok', error);
    this.send(res, status, answer);
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  /** Binance's SIGNED endpoint checks: key, signature over query + body, timestamp within recvWindow. */
  private authenticate(apiKey: string | null, url: URL, body: string, params: URLSearchParams): string {
    if (apiKey === null || !/^[A-Za-z0-9]{1,128}$/.test(apiKey)) throw new Refusal(401, -2014, 'API-key format invalid.');
    const account = this.accounts.get(apiKey);
    if (!account) throw new Refusal(401, -2015, 'Invalid API-key, IP, or permissions for action.');
    const signature = params.get('signature');
    if (!signature) throw mandatory('signature');
    const payload = withoutSignature(url.search.slice(1)) + withoutSignature(body);
    const expected = createHmac('sha256', account.secret).update(payload).digest('hex');
    if (signature.toLowerCase() !== expected) throw new Refusal(400, -1022, 'Signature for this request is not valid.');
    const timestamp = Number(params.get('timestamp'));
    if (!Number.isInteger(timestamp)) throw mandatory('timestamp');
    const recvWindow = Number(params.get('recvWindow') ?? 5000);
    const now = Date.now();
    if (timestamp > now + 1000 || now - timestamp > recvWindow) {
      throw new Refusal(400, -1021, 'Timestamp for this request is outside of the recvWindow.');
    }
    return apiKey;
  }

  /** Market streams at `/ws/...` (ccxt adds a stream number to the path); anything else is refused. */
  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    if (!new URL(req.url ?? '/', this.url).pathname.startsWith('/ws')) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    this.streamServer.handleUpgrade(req, socket, head, (ws) => {
      const stream = { connection: (this.streamConnections += 1), subscribed: new Set<string>() };
      this.streams.set(ws, stream);
      ws.on('message', (data) => this.streamMessage(ws, stream, data));
      ws.on('close', () => {
        this.streams.delete(ws);
        this.emit('streamClosed', stream.connection);
      });
      ws.on('error', () => ws.terminate());
    });
  }

  /** Binance's stream requests: SUBSCRIBE (what ccxt sends) answers `{ result: null, id }`; other methods answer an error. */
  private streamMessage(ws: WebSocket, stream: { connection: number; subscribed: Set<string> }, data: RawData): void {
    let request: { method?: unknown; params?: unknown; id?: unknown };
    try {
      request = JSON.parse(data.toString()) as typeof request;
    } catch {
      ws.send(JSON.stringify({ error: { code: 3, msg: 'Invalid JSON: expected value at line 1 column 1' } }));
      return;
    }
    const message: FakeStreamMessage = { connection: stream.connection, method: String(request.method), params: request.params, id: request.id };
    this.streamMessages.push(message);
    this.emit('stream', message);
    if (request.method !== 'SUBSCRIBE') {
      ws.send(JSON.stringify({ error: { code: 2, msg: `Invalid request: unknown variant ${String(request.method)}, expected SUBSCRIBE` }, id: request.id }));
      return;
    }
    const names = Array.isArray(request.params) ? request.params.filter((name): name is string => typeof name === 'string') : [];
    ws.send(JSON.stringify({ result: null, id: request.id }));
    for (const name of names) stream.subscribed.add(name);
    // The stream's next one-second update, sent at once.
    for (const market of this.markets) if (names.includes(miniTickerStream(market.id))) this.pushMiniTicker(market.id, ws);
  }

  /**
   * A `24hrMiniTicker` event to the connections subscribed to the market's stream (or to `only`).
   * It has no change percent: its open price is the one the ticker's change percent implies.
   */
  private pushMiniTicker(id: string, only?: WebSocket): void {
    const ticker = this.tickers.get(id)!;
    const last = new Decimal(ticker.lastPrice);
    const open = last.div(new Decimal(ticker.priceChangePercent).div(100).plus(1));
    const event = JSON.stringify({ e: '24hrMiniTicker', E: Date.now(), s: id, c: fixed(last), o: fixed(open), h: fixed(Decimal.max(last, open)), l: fixed(Decimal.min(last, open)), v: ticker.volume, q: '0.00000000' });
    for (const [ws, stream] of this.streams) {
      if ((only === undefined || ws === only) && stream.subscribed.has(miniTickerStream(id))) ws.send(event);
    }
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

  private routeSigned(method: string, path: string, apiKey: string, params: URLSearchParams): unknown {
    switch (`${method} ${path}`) {
      case 'GET /api/v3/account':
        return this.accountJson(apiKey, params);
      case 'POST /api/v3/order':
        return this.newOrder(apiKey, params);
      case 'GET /api/v3/order':
        return this.orderJson(this.lookup(apiKey, params, -2013, 'Order does not exist.'));
      case 'DELETE /api/v3/order':
        return this.cancel(apiKey, params);
      case 'GET /api/v3/openOrders':
        return this.openOrders(apiKey, params);
      case 'GET /api/v3/myTrades':
        return this.myTrades(apiKey, params);
      default:
        return undefined;
    }
  }

  private accountOf(apiKey: string): FakeAccount {
    const account = this.accounts.get(apiKey);
    if (!account) throw new Error(`fake binance has no account ${apiKey}`);
    return account;
  }

  private holding(apiKey: string, asset: string): { free: Decimal; locked: Decimal } {
    const balances = this.accountOf(apiKey).balances;
    let entry = balances.get(asset);
    if (!entry) {
      entry = { free: new Decimal(0), locked: new Decimal(0) };
      balances.set(asset, entry);
    }
    return entry;
  }

  private lastPrice(market: FakeMarket): Decimal {
    return new Decimal(this.tickers.get(market.id)!.lastPrice);
  }

  private marketOf(params: URLSearchParams): FakeMarket {
    const id = params.get('symbol');
    if (!id) throw mandatory('symbol');
    const market = this.markets.find((candidate) => candidate.id === id);
    if (!market) throw new Refusal(400, -1121, 'Invalid symbol.');
    return market;
  }

  private isOpen(order: FakeOrder): boolean {
    return order.status === 'NEW' || order.status === 'PARTIALLY_FILLED';
  }

  private findOrder(ref: number | string): FakeOrder {
    const order = [...this.orders].reverse().find((candidate) => (typeof ref === 'number' ? candidate.orderId === ref : candidate.clientOrderId === ref));
    if (!order) throw new Error(`fake binance has no order ${ref}`);
    return order;
  }

  /** The account's order named by `orderId` or `origClientOrderId` (the latest with that id). */
  private lookup(apiKey: string, params: URLSearchParams, code: number, msg: string): FakeOrder {
    const market = this.marketOf(params);
    const orderId = params.get('orderId');
    const clientOrderId = params.get('origClientOrderId');
    if (!orderId && !clientOrderId) throw new Refusal(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!");
    const order = [...this.orders]
      .reverse()
      .find((candidate) => candidate.apiKey === apiKey && candidate.market.id === market.id && (orderId ? String(candidate.orderId) === orderId : candidate.clientOrderId === clientOrderId));
    if (!order) throw new Refusal(400, code, msg);
    return order;
  }

  private decimalParam(params: URLSearchParams, name: string): Decimal | null {
    const raw = params.get(name);
    if (raw === null || raw === '') return null;
    if (!/^\d+(\.\d+)?$/.test(raw)) throw new Refusal(400, -1100, `Illegal characters found in parameter '${name}'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.`);
    return new Decimal(raw);
  }

  private newOrder(apiKey: string, params: URLSearchParams): unknown {
    const market = this.marketOf(params);
    const side = params.get('side');
    if (!side) throw mandatory('side');
    if (side !== 'BUY' && side !== 'SELL') throw new Refusal(400, -1117, 'Invalid side.');
    const type = params.get('type') as OrderType | null;
    if (!type) throw mandatory('type');
    if (!ORDER_TYPES.includes(type)) throw new Refusal(400, -1116, 'Invalid orderType.');
    const clientOrderId = params.get('newClientOrderId') ?? `fake${randomBytes(9).toString('hex')}`;
    if (!CLIENT_ORDER_ID.test(clientOrderId)) {
      throw new Refusal(400, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.");
    }
    const quantity = this.decimalParam(params, 'quantity');
    if (!quantity) throw mandatory('quantity');
    const limitPriced = LIMIT_PRICED.includes(type);
    const stopType = STOP_TYPES.includes(type);
    const price = this.decimalParam(params, 'price');
    if (limitPriced && !price) throw mandatory('price');
    const timeInForce = params.get('timeInForce');
    if (limitPriced && type !== 'LIMIT_MAKER' && !timeInForce) throw mandatory('timeInForce');
    const stopPrice = this.decimalParam(params, 'stopPrice');
    const trailingRaw = params.get('trailingDelta');
    // A trailing stop-loss may start from the current price; a take-profit needs its activation price.
    if (stopType && !stopPrice && (!trailingRaw || type.startsWith('TAKE_PROFIT'))) throw mandatory('stopPrice');
    if (!stopType && stopPrice) throw new Refusal(400, -1106, "Parameter 'stopPrice' sent when not required.");
    if (!stopType && trailingRaw) throw new Refusal(400, -1106, "Parameter 'trailingDelta' sent when not required.");
    const icebergQty = this.decimalParam(params, 'icebergQty');
    if (icebergQty && !limitPriced) throw new Refusal(400, -1106, "Parameter 'icebergQty' sent when not required.");

    // Filters, as exchangeInfo lists them.
    const tick = new Decimal(market.tickSize);
    const step = new Decimal(market.stepSize);
    for (const value of [price, stopPrice]) {
      if (value && (value.lt(tick) || !isMultiple(value, tick))) throw filterFailure('PRICE_FILTER');
    }
    for (const value of [quantity, icebergQty]) {
      if (value && (value.lt(step) || value.gt(MAX_QTY) || !isMultiple(value, step))) throw filterFailure('LOT_SIZE');
    }
    if (icebergQty && quantity.div(icebergQty).ceil().gt(MAX_ICEBERG_PARTS)) throw filterFailure('ICEBERG_PARTS');
    let trailingDelta: number | null = null;
    if (trailingRaw) {
      trailingDelta = Number(trailingRaw);
      if (!Number.isInteger(trailingDelta) || trailingDelta < 10 || trailingDelta > 2000) throw filterFailure('TRAILING_DELTA');
    }
    const last = this.lastPrice(market);
    const reference = price ?? stopPrice ?? last;
    if (quantity.times(reference).lt(MIN_NOTIONAL)) throw filterFailure('NOTIONAL');

    if (stopPrice && this.stopReached(type, side, stopPrice, last)) throw rejected('Stop price would trigger immediately.');
    if (type === 'LIMIT_MAKER' && this.crosses(side, price!, last)) throw rejected('Order would immediately match and take.');
    if (this.orders.some((order) => order.apiKey === apiKey && order.clientOrderId === clientOrderId && this.isOpen(order))) {
      throw rejected('Duplicate order sent.');
    }
    const reservedAsset = side === 'BUY' ? market.quote : market.base;
    const needed = side === 'BUY' ? quantity.times(reference) : quantity;
    if (this.holding(apiKey, reservedAsset).free.lt(needed)) throw rejected('Account has insufficient balance for requested action.');

    const now = Date.now();
    const order: FakeOrder = {
      apiKey, market, orderId: this.nextOrderId++, clientOrderId, side, type,
      timeInForce: timeInForce ?? 'GTC',
      price: price ?? new Decimal(0), origQty: quantity, executedQty: new Decimal(0), cummulativeQuoteQty: new Decimal(0),
      stopPrice: stopPrice ?? new Decimal(0), icebergQty: icebergQty ?? new Decimal(0), trailingDelta,
      trailingExtreme: trailingDelta !== null && !stopPrice ? last : null,
      triggered: false, status: 'NEW', time: now, updateTime: now, reserved: new Decimal(0), reservedAsset,
    };
    this.orders.push(order);
    const fills: FakeTrade[] = [];
    if (type === 'MARKET') {
      fills.push(this.execute(order, quantity, last, false));
    } else if (!stopType && this.crosses(side, order.price, last)) {
      // Marketable limit: takes the book at the last price, no worse than its limit.
      fills.push(this.execute(order, quantity, last, false));
    } else if (timeInForce === 'IOC' || timeInForce === 'FOK') {
      order.status = 'EXPIRED';
    } else {
      order.reserved = needed;
      const holding = this.holding(apiKey, reservedAsset);
      holding.free = holding.free.minus(needed);
      holding.locked = holding.locked.plus(needed);
    }
    return this.newOrderAnswer(order, fills, params.get('newOrderRespType') ?? (type === 'MARKET' || type === 'LIMIT' ? 'FULL' : 'ACK'));
  }

  private newOrderAnswer(order: FakeOrder, fills: FakeTrade[], respType: string): unknown {
    const ack = { symbol: order.market.id, orderId: order.orderId, orderListId: -1, clientOrderId: order.clientOrderId, transactTime: order.updateTime };
    if (respType === 'ACK') return ack;
    const result = {
      ...ack,
      price: fixed(order.price), origQty: fixed(order.origQty), executedQty: fixed(order.executedQty), origQuoteOrderQty: fixed(new Decimal(0)),
      cummulativeQuoteQty: fixed(order.cummulativeQuoteQty), status: order.status, timeInForce: order.timeInForce, type: order.type, side: order.side,
      workingTime: order.time, selfTradePreventionMode: 'EXPIRE_MAKER',
      ...(order.stopPrice.isZero() ? {} : { stopPrice: fixed(order.stopPrice) }),
      ...(order.icebergQty.isZero() ? {} : { icebergQty: fixed(order.icebergQty) }),
      ...(order.trailingDelta === null ? {} : { trailingDelta: order.trailingDelta }),
    };
    if (respType !== 'FULL') return result;
    return {
      ...result,
      fills: fills.map((trade) => ({ price: fixed(trade.price), qty: fixed(trade.qty), commission: fixed(trade.commission), commissionAsset: trade.commissionAsset, tradeId: trade.id })),
    };
  }

  private orderJson(order: FakeOrder): Record<string, unknown> {
    return {
      symbol: order.market.id, orderId: order.orderId, orderListId: -1, clientOrderId: order.clientOrderId,
      price: fixed(order.price), origQty: fixed(order.origQty), executedQty: fixed(order.executedQty), cummulativeQuoteQty: fixed(order.cummulativeQuoteQty),
      status: order.status, timeInForce: order.timeInForce, type: order.type, side: order.side,
      stopPrice: fixed(order.stopPrice), icebergQty: fixed(order.icebergQty), time: order.time, updateTime: order.updateTime,
      isWorking: !STOP_TYPES.includes(order.type) || order.triggered, workingTime: order.time, origQuoteOrderQty: fixed(new Decimal(0)),
      selfTradePreventionMode: 'EXPIRE_MAKER',
      ...(order.trailingDelta === null ? {} : { trailingDelta: order.trailingDelta }),
    };
  }

  private cancel(apiKey: string, params: URLSearchParams): unknown {
    const order = this.lookup(apiKey, params, -2011, 'Unknown order sent.');
    if (!this.isOpen(order)) throw new Refusal(400, -2011, 'Unknown order sent.');
    order.status = 'CANCELED';
    order.updateTime = Date.now();
    this.release(order);
    const { clientOrderId, ...rest } = this.newOrderAnswer(order, [], 'RESULT') as Record<string, unknown>;
    return { ...rest, origClientOrderId: clientOrderId, clientOrderId: params.get('newClientOrderId') ?? `fake${randomBytes(9).toString('hex')}` };
  }

  private openOrders(apiKey: string, params: URLSearchParams): unknown {
    const symbol = params.get('symbol');
    if (symbol) this.marketOf(params);
    return this.orders.filter((order) => order.apiKey === apiKey && this.isOpen(order) && (!symbol || order.market.id === symbol)).map((order) => this.orderJson(order));
  }

  private myTrades(apiKey: string, params: URLSearchParams): unknown {
    const market = this.marketOf(params);
    const orderId = params.get('orderId');
    const fromId = params.get('fromId');
    const startTime = params.get('startTime');
    const endTime = params.get('endTime');
    const limit = Math.min(Number(params.get('limit') ?? 500), 1000);
    return this.trades
      .filter((trade) =>
        trade.apiKey === apiKey && trade.symbol === market.id &&
        (!orderId || String(trade.orderId) === orderId) && (!fromId || trade.id >= Number(fromId)) &&
        (!startTime || trade.time >= Number(startTime)) && (!endTime || trade.time <= Number(endTime)))
      .slice(0, limit)
      .map((trade) => ({
        symbol: trade.symbol, id: trade.id, orderId: trade.orderId, orderListId: -1, price: fixed(trade.price), qty: fixed(trade.qty),
        quoteQty: fixed(trade.quoteQty), commission: fixed(trade.commission), commissionAsset: trade.commissionAsset, time: trade.time,
        isBuyer: trade.side === 'BUY', isMaker: trade.isMaker, isBestMatch: true,
      }));
  }

  private accountJson(apiKey: string, params: URLSearchParams): unknown {
    const omitZero = params.get('omitZeroBalances') === 'true';
    const balances = [...this.accountOf(apiKey).balances.entries()]
      .filter(([, entry]) => !omitZero || !entry.free.plus(entry.locked).isZero())
      .map(([asset, entry]) => ({ asset, free: fixed(entry.free), locked: fixed(entry.locked) }));
    return {
      makerCommission: 10, takerCommission: 10, buyerCommission: 0, sellerCommission: 0,
      commissionRates: { maker: fixed(COMMISSION_RATE), taker: fixed(COMMISSION_RATE), buyer: fixed(new Decimal(0)), seller: fixed(new Decimal(0)) },
      canTrade: true, canWithdraw: true, canDeposit: true, brokered: false, requireSelfTradePrevention: false, preventSor: false,
      updateTime: Date.now(), accountType: 'SPOT', balances, permissions: ['SPOT'], uid: 1,
    };
  }

  /** A buy crosses when the price is at or under its limit, a sell at or over. */
  private crosses(side: 'BUY' | 'SELL', limit: Decimal, last: Decimal): boolean {
    return side === 'BUY' ? last.lte(limit) : last.gte(limit);
  }

  /** Stop-loss: a sell triggers at or under its stop, a buy at or over; take-profit the other way round. */
  private stopReached(type: OrderType, side: 'BUY' | 'SELL', stop: Decimal, last: Decimal): boolean {
    const falling = (type === 'STOP_LOSS' || type === 'STOP_LOSS_LIMIT') === (side === 'SELL');
    return falling ? last.lte(stop) : last.gte(stop);
  }

  /** Trades `qty` of `order` at `price`: moves the funds, charges the commission, records the trade. */
  private execute(order: FakeOrder, qty: Decimal, price: Decimal, isMaker: boolean): FakeTrade {
    const { market } = order;
    const quoteQty = qty.times(price);
    const [paid, paidAsset, received, receivedAsset] = order.side === 'BUY' ? [quoteQty, market.quote, qty, market.base] : [qty, market.base, quoteQty, market.quote];
    const feeAsset = this.accountOf(order.apiKey).feeAsset;
    const [commission, commissionAsset] = feeAsset
      ? [quoteQty.times(COMMISSION_RATE).div(feeAsset.price).toDecimalPlaces(8, Decimal.ROUND_UP), feeAsset.asset]
      : [received.times(COMMISSION_RATE).toDecimalPlaces(8, Decimal.ROUND_UP), receivedAsset];
    const paying = this.holding(order.apiKey, paidAsset);
    const fromLocked = Decimal.min(order.reserved, paid);
    order.reserved = order.reserved.minus(fromLocked);
    paying.locked = paying.locked.minus(fromLocked);
    paying.free = paying.free.minus(paid.minus(fromLocked));
    const receiving = this.holding(order.apiKey, receivedAsset);
    receiving.free = receiving.free.plus(received);
    const charged = this.holding(order.apiKey, commissionAsset);
    charged.free = charged.free.minus(commission);
    const now = Date.now();
    order.executedQty = order.executedQty.plus(qty);
    order.cummulativeQuoteQty = order.cummulativeQuoteQty.plus(quoteQty);
    order.status = order.executedQty.eq(order.origQty) ? 'FILLED' : 'PARTIALLY_FILLED';
    order.updateTime = now;
    if (order.status === 'FILLED') this.release(order);
    const trade: FakeTrade = {
      apiKey: order.apiKey, symbol: market.id, id: this.nextTradeId++, orderId: order.orderId, side: order.side,
      price, qty, quoteQty, commission, commissionAsset, time: now, isMaker,
    };
    this.trades.push(trade);
    return trade;
  }

  /** Gives back what an order still has locked. */
  private release(order: FakeOrder): void {
    if (order.reserved.isZero()) return;
    const holding = this.holding(order.apiKey, order.reservedAsset);
    holding.locked = holding.locked.minus(order.reserved);
    holding.free = holding.free.plus(order.reserved);
    order.reserved = new Decimal(0);
  }

  /** Fills the resting orders of a market that its new last price reaches. */
  private match(id: string): void {
    const market = this.markets.find((candidate) => candidate.id === id)!;
    const last = this.lastPrice(market);
    for (const order of this.orders.filter((candidate) => candidate.market.id === id && this.isOpen(candidate))) {
      if (STOP_TYPES.includes(order.type) && !order.triggered) {
        if (!this.triggers(order, last)) continue;
        order.triggered = true;
        order.updateTime = Date.now();
      }
      const remaining = order.origQty.minus(order.executedQty);
      if (order.type === 'STOP_LOSS' || order.type === 'TAKE_PROFIT') this.execute(order, remaining, last, false);
      else if (this.crosses(order.side, order.price, last)) this.execute(order, remaining, order.price, true);
    }
  }

  private triggers(order: FakeOrder, last: Decimal): boolean {
    if (order.trailingExtreme === null) return this.stopReached(order.type, order.side, order.stopPrice, last);
    // Trailing stop-loss: follows the best price, triggers once the price moved trailingDelta bips back from it.
    const delta = new Decimal(order.trailingDelta!).div(10_000);
    if (order.side === 'SELL') {
      order.trailingExtreme = Decimal.max(order.trailingExtreme, last);
      return last.lte(order.trailingExtreme.times(new Decimal(1).minus(delta)));
    }
    order.trailingExtreme = Decimal.min(order.trailingExtreme, last);
    return last.gte(order.trailingExtreme.times(new Decimal(1).plus(delta)));
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
        orderTypes: ORDER_TYPES,
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
          { filterType: 'ICEBERG_PARTS', limit: MAX_ICEBERG_PARTS },
          { filterType: 'TRAILING_DELTA', minTrailingAboveDelta: 10, maxTrailingAboveDelta: 2000, minTrailingBelowDelta: 10, maxTrailingBelowDelta: 2000 },
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
