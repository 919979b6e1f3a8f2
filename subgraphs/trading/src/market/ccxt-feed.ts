import { EventEmitter } from 'node:events';
import * as ccxt from 'ccxt';
import { Decimal } from 'decimal.js';
import type { Logger } from 'pino';
import { replaceApiUrls, type ApiUrls } from '../exchange/api-urls';
import type { Candle, FeedStatus, MarketFeed, MarketFeedEvents, Tick } from './market-feed';
import { bucketStart, TIMEFRAMES } from './timeframes';

type Exchange = ccxt.Exchange;
type ExchangeClass = new (config?: Record<string, unknown>) => Exchange;

const MINUTE = TIMEFRAMES['1m'];
/** One-minute candles fetched on the first connection, so charts have the last hour at once. */
const BACKFILL_MINUTES = 60;
/** Wait this long after a minute turns before asking for its candle, so the exchange has closed it. */
const CANDLE_SETTLE_MS = 2_000;

export interface CcxtFeedOptions {
  /** ccxt exchange id, e.g. `binance`. */
  exchange: string;
  /** ccxt unified symbols to follow, e.g. `BTC/USDT`; those the exchange does not list are skipped. */
  symbols: readonly string[];
  apiKey?: string;
  secret?: string;
  /** Milliseconds between two fetchTickers calls when polling. */
  pollMs: number;
  /** No fresh ticker for this long: the connection counts as stale and the exchange is recreated. */
  staleMs: number;
  /** First delay after an error; doubles per consecutive error up to `backoffMaxMs`. */
  backoffMs: number;
  backoffMaxMs: number;
  /** Use watchTickers (ccxt.pro) when the exchange has it; otherwise, or when false, poll fetchTickers. */
  websocket: boolean;
  /** Entries replacing the exchange's `urls.api` (tests point ccxt at a local server speaking the exchange's API). */
  apiUrls?: ApiUrls;
  /** More ccxt constructor options, merged over the feed's own. */
  exchangeOptions?: Record<string, unknown>;
  /** Fetch closed one-minute candles with fetchOHLCV where the exchange has it (default true). */
  candles?: boolean;
  log: Logger;
}

class StaleError extends Error {
  constructor(readonly silentMs: number) {
    super(`no fresh ticker for ${silentMs} ms`);
  }
}

class StoppedError extends Error {
  constructor() {
    super('feed stopped');
  }
}

/** A decimal string from what ccxt returns (strings here, as the feed sets `exchange.number = String`). */
const decimalOf = (value: unknown): string | null => {
  if (value === undefined || value === null || value === '') return null;
  try {
    const decimal = new Decimal(String(value));
    return decimal.isFinite() ? decimal.toFixed() : null;
  } catch {
    return null;
  }
};

/**
 * Market data from a real exchange through ccxt. Streams with `watchTickers` where the exchange
 * (ccxt.pro, shipped inside the ccxt package) supports it and `websocket` is on; otherwise polls
 * `fetchTickers` every `pollMs`. Errors back off exponentially (`backoff` status events carry the
 * attempt and delay) and the next success resets the delay. When no fresh ticker arrived for
 * `staleMs`, whether a request hangs or a stream went quiet, the exchange instance is closed and
 * recreated (`stale`, then `connecting`). Closed one-minute candles come from `fetchOHLCV`.
 */
export class CcxtFeed implements MarketFeed {
  readonly kind = 'ccxt' as const;
  readonly events = new EventEmitter<MarketFeedEvents>();
  /** Exchange instances created so far (one per connection). */
  sessions = 0;
  private readonly log: Logger;
  private stopping = false;
  private readonly stopSignal = new AbortController();
  private loop: Promise<void> | null = null;
  private lastUpdateAt = Date.now();
  private readonly lastSeen = new Map<string, { timestamp: number; price: string }>();
  private readonly lastCandleOpen = new Map<string, number>();
  private nextCandleFetchAt = 0;

  constructor(private readonly options: CcxtFeedOptions) {
    this.log = options.log.child({ component: 'ccxt-feed', exchange: options.exchange });
    // Typed as a map of classes, shipped as the list of ids.
    const known: unknown = ccxt.exchanges;
    const ids = Array.isArray(known) ? (known as string[]) : Object.keys(known as object);
    if (!ids.includes(options.exchange)) {
      throw new Error(`ccxt has no exchange "${options.exchange}"`);
    }
  }

  get exchange(): string {
    return this.options.exchange;
  }

  start(): void {
    if (this.loop || this.stopping) return;
    this.loop = this.run().catch((error: unknown) => this.log.error({ err: error }, 'market feed loop failed'));
  }

  async stop(): Promise<void> {
    if (this.stopping) return this.loop ?? undefined;
    this.stopping = true;
    this.stopSignal.abort();
    await this.loop;
  }

  private status(status: FeedStatus): void {
    this.events.emit('status', status);
  }

  /** Builds a fresh exchange instance: streaming class where wanted and available, else REST. */
  private createExchange(): { exchange: Exchange; mode: 'poll' | 'watch' } {
    const { options } = this;
    const config: Record<string, unknown> = {
      enableRateLimit: true,
      // A request hanging longer than the stale limit is given up by ccxt too.
      timeout: Math.min(options.staleMs, 30_000),
      ...(options.apiKey ? { apiKey: options.apiKey, secret: options.secret } : {}),
      ...options.exchangeOptions,
      options: {
        defaultType: 'spot',
        // Spot market data only: no futures markets, no private currency or margin calls on loadMarkets.
        fetchMarkets: { types: ['spot'] },
        fetchCurrencies: false,
        fetchMargins: false,
        // ccxt waits before dialling a stream again; the same steps as the feed's own backoff.
        ws: { backoff: { base: options.backoffMs, max: options.backoffMaxMs } },
        ...(options.exchangeOptions?.options as Record<string, unknown> | undefined),
      },
    };
    const proClass = (ccxt.pro as unknown as Record<string, ExchangeClass | undefined>)[options.exchange];
    let exchange: Exchange | null = null;
    let mode: 'poll' | 'watch' = 'poll';
    if (options.websocket && proClass) {
      const candidate = new proClass(config);
      if (candidate.has.watchTickers === true) {
        exchange = candidate;
        mode = 'watch';
      }
    }
    if (!exchange) exchange = new (ccxt as unknown as Record<string, ExchangeClass>)[options.exchange]!(config);
    // Parsed numbers stay decimal strings: no float ever reaches a price.
    (exchange as unknown as { number: unknown }).number = String;
    if (options.apiUrls) replaceApiUrls(exchange, options.apiUrls);
    return { exchange, mode };
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopping) {
      const session = ++this.sessions;
      const { exchange, mode } = this.createExchange();
      this.lastUpdateAt = Date.now();
      this.status({ state: 'connecting', session });
      let live = false;
      let symbols: string[] | null = null;
      try {
        // ccxt opens a plain ws:// stream (a local or test endpoint) only through an http agent loaded first.
        if (mode === 'watch') await exchange.loadHttpProxyAgent();
        while (!this.stopping) {
          try {
            if (!symbols) symbols = await this.loadSymbols(exchange);
            const answer = await this.guard(mode === 'watch' ? exchange.watchTickers(symbols) : exchange.fetchTickers(symbols));
            // Any answer ends a run of errors; only a moving ticker counts against staleness.
            attempt = 0;
            // A stream answers with the ticker that just moved; ccxt's cache also holds those that moved while no call waited.
            if (this.handleTickers(mode === 'watch' ? exchange.tickers : answer, symbols)) this.lastUpdateAt = Date.now();
            if (!live) {
              live = true;
              this.status({ state: 'live', session, mode });
            }
            if (this.wantsCandles(exchange)) {
              await this.fetchCandles(exchange, symbols);
              if (mode === 'watch' && this.handleTickers(exchange.tickers, symbols)) this.lastUpdateAt = Date.now();
            }
            if (mode === 'poll') await this.delay(this.options.pollMs);
          } catch (error) {
            if (this.stopping || error instanceof StoppedError) return;
            if (error instanceof StaleError) throw error;
            attempt += 1;
            live = false;
            const delayMs = Math.min(this.options.backoffMaxMs, this.options.backoffMs * 2 ** (attempt - 1));
            const message = error instanceof Error ? error.message : String(error);
            this.log.warn({ err: error, attempt, delayMs }, 'market data request failed; backing off');
            this.status({ state: 'backoff', session, attempt, delayMs, error: message });
            await this.delay(delayMs);
          }
        }
      } catch (error) {
        if (this.stopping || error instanceof StoppedError) return;
        const silentMs = error instanceof StaleError ? error.silentMs : Date.now() - this.lastUpdateAt;
        this.log.warn({ silentMs, session }, 'market data went stale; reconnecting');
        this.status({ state: 'stale', session, silentMs });
      } finally {
        await this.closeExchange(exchange);
        if (this.stopping) this.status({ state: 'stopped', session });
      }
    }
  }

  private async closeExchange(exchange: Exchange): Promise<void> {
    try {
      await exchange.close();
    } catch (error) {
      this.log.debug({ err: error }, 'closing the exchange failed');
    }
  }

  private async loadSymbols(exchange: Exchange): Promise<string[]> {
    await this.guard(exchange.loadMarkets());
    const listed = this.options.symbols.filter((symbol) => exchange.markets?.[symbol] !== undefined);
    const missing = this.options.symbols.filter((symbol) => !listed.includes(symbol));
    if (missing.length > 0) this.log.warn({ missing }, 'instruments not listed on the exchange are not followed');
    if (listed.length === 0) throw new Error(`${this.options.exchange} lists none of ${this.options.symbols.join(', ')}`);
    return listed;
  }

  /** Emits a tick per symbol whose ticker moved; true when any did. */
  private handleTickers(tickers: ccxt.Tickers, symbols: string[]): boolean {
    let fresh = false;
    const now = Date.now();
    for (const symbol of symbols) {
      const ticker = tickers[symbol];
      const lastPrice = decimalOf(ticker?.last);
      if (!ticker || lastPrice === null) continue;
      const timestamp = typeof ticker.timestamp === 'number' ? ticker.timestamp : now;
      const seen = this.lastSeen.get(symbol);
      if (seen && timestamp <= seen.timestamp && lastPrice === seen.price) continue;
      this.lastSeen.set(symbol, { timestamp, price: lastPrice });
      fresh = true;
      const change = decimalOf(ticker.percentage);
      const tick: Tick = {
        symbol,
        exchange: this.options.exchange,
        lastPrice,
        change24h: change === null ? null : new Decimal(change).toDecimalPlaces(2, Decimal.ROUND_HALF_EVEN).toFixed(),
        volume24h: decimalOf(ticker.baseVolume),
        timestamp,
      };
      this.events.emit('tick', tick);
    }
    return fresh;
  }

  private wantsCandles(exchange: Exchange): boolean {
    return (this.options.candles ?? true) && exchange.has.fetchOHLCV === true && Date.now() >= this.nextCandleFetchAt;
  }

  /** Emits the one-minute candles closed since the last ones emitted (the last hour on the first call). */
  private async fetchCandles(exchange: Exchange, symbols: string[]): Promise<void> {
    const now = Date.now();
    const currentMinute = bucketStart(now, '1m');
    for (const symbol of symbols) {
      const last = this.lastCandleOpen.get(symbol);
      const since = last === undefined ? currentMinute - BACKFILL_MINUTES * MINUTE : last + MINUTE;
      if (since >= currentMinute) continue;
      const limit = Math.min(1000, Math.ceil((currentMinute - since) / MINUTE) + 1);
      let rows: unknown[][];
      try {
        rows = (await this.guard(exchange.fetchOHLCV(symbol, '1m', since, limit))) as unknown[][];
      } catch (error) {
        if (error instanceof StaleError || error instanceof StoppedError) throw error;
        // Candles are not worth stalling prices for: try again next minute.
        this.log.warn({ err: error, symbol }, 'fetching candles failed');
        continue;
      }
      for (const row of rows) {
        const openTime = Number(row[0]);
        if (!Number.isFinite(openTime) || openTime + MINUTE > now || openTime < since) continue;
        const [open, high, low, close, volume] = row.slice(1, 6).map(decimalOf);
        if (open === null || high === null || low === null || close === null) continue;
        const candle: Candle = { symbol, openTime, closeTime: openTime + MINUTE, open, high, low, close, volume: volume ?? '0' };
        this.lastCandleOpen.set(symbol, Math.max(openTime, this.lastCandleOpen.get(symbol) ?? 0));
        this.events.emit('candle', candle);
      }
    }
    this.nextCandleFetchAt = currentMinute + MINUTE + CANDLE_SETTLE_MS;
  }

  /** Races `work` against the stale deadline and stop(). */
  private guard<T>(work: Promise<T>): Promise<T> {
    const silent = Date.now() - this.lastUpdateAt;
    const remaining = this.options.staleMs - silent;
    if (this.stopping) {
      work.catch(() => undefined);
      return Promise.reject(new StoppedError());
    }
    if (remaining <= 0) {
      work.catch(() => undefined);
      return Promise.reject(new StaleError(silent));
    }
    return new Promise<T>((resolve, reject) => {
      const signal = this.stopSignal.signal;
      const onStop = () => {
        clearTimeout(timer);
        reject(new StoppedError());
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onStop);
        reject(new StaleError(Date.now() - this.lastUpdateAt));
      }, remaining);
      signal.addEventListener('abort', onStop, { once: true });
      work.then(
        (value) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onStop);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onStop);
          reject(error);
        },
      );
    });
  }

  /** Waits `ms`, or less when the feed stops (then throws StoppedError). */
  private delay(ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const signal = this.stopSignal.signal;
      if (signal.aborted) return reject(new StoppedError());
      const onStop = () => {
        clearTimeout(timer);
        reject(new StoppedError());
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onStop);
        resolve();
      }, ms);
      signal.addEventListener('abort', onStop, { once: true });
    });
  }
}
