import { EventEmitter } from 'node:events';

/** One price update of one instrument. Prices and volumes are decimal strings, never floats. */
export interface Tick {
  /** ccxt unified symbol, e.g. `BTC/USDT`. */
  symbol: string;
  /** Where the price comes from: `paper` or a ccxt exchange id. */
  exchange: string;
  lastPrice: string;
  /** Change over the last 24 hours in percent, e.g. `-1.25`; null when unknown. */
  change24h: string | null;
  /** Base-currency volume over the last 24 hours; null when unknown. */
  volume24h: string | null;
  /** When the price was observed, ms since the epoch. */
  timestamp: number;
}

/** A closed one-minute candle. `closeTime` is the exclusive end (`openTime + 60 s`). */
export interface Candle {
  symbol: string;
  openTime: number;
  closeTime: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

/** Where a feed's connection stands; feeds emit a `status` event on every change. */
export type FeedStatus =
  | { state: 'connecting'; session: number }
  | { state: 'live'; session: number; mode: 'paper' | 'poll' | 'watch' }
  | { state: 'backoff'; session: number; attempt: number; delayMs: number; error: string }
  | { state: 'stale'; session: number; silentMs: number }
  | { state: 'stopped'; session: number };

export interface MarketFeedEvents {
  tick: [Tick];
  candle: [Candle];
  status: [FeedStatus];
}

/**
 * A source of live prices. `paper` simulates a market offline; `ccxt` follows a real exchange.
 * Listeners attach to `events` before `start()`; `stop()` resolves once nothing is emitted any more.
 */
export interface MarketFeed {
  readonly kind: 'paper' | 'ccxt';
  /** Written to `Instrument.exchange`. */
  readonly exchange: string;
  readonly events: EventEmitter<MarketFeedEvents>;
  start(): void;
  stop(): Promise<void>;
}

/** Waits for the first event of `name` that `matches`, e.g. in tests: `await nextEvent(feed.events, 'tick', (t) => t.symbol === 'BTC/USDT')`. */
export function nextEvent<K extends keyof MarketFeedEvents>(
  events: EventEmitter<MarketFeedEvents>,
  name: K,
  matches: (...args: MarketFeedEvents[K]) => boolean = () => true,
): Promise<MarketFeedEvents[K][0]> {
  return new Promise((resolve) => {
    const listener = (...args: MarketFeedEvents[K]) => {
      if (!matches(...args)) return;
      (events.off as (name: K, listener: (...args: MarketFeedEvents[K]) => void) => void)(name, listener);
      resolve(args[0]);
    };
    (events.on as (name: K, listener: (...args: MarketFeedEvents[K]) => void) => void)(name, listener);
  });
}
