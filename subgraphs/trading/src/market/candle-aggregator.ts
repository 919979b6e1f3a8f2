import { Decimal } from 'decimal.js';
import type { Candle } from './market-feed';
import { bucketStart, TIMEFRAMES, type Timeframe } from './timeframes';

const MINUTE = TIMEFRAMES['1m'];
/** Minutes in the rolling 24 h window: 1439 closed candles plus the open one. */
const WINDOW_MINUTES = 24 * 60;

interface OpenCandle {
  openTime: number;
  open: Decimal;
  high: Decimal;
  low: Decimal;
  close: Decimal;
  volume: Decimal;
}

export interface RollingStats {
  /** Price 24 h ago: the open of the oldest candle in the window; null before any price. */
  open24h: string | null;
  /** Change from `open24h` to the last price in percent, at most two decimals. */
  change24h: string | null;
  /** Volume of the last 24 h (closed candles plus the open one). */
  volume24h: string;
}

/**
 * Builds one instrument's one-minute candles from prices and keeps the rolling 24 h figures.
 * Prices and volumes are decimal strings; arithmetic is decimal.js, never floats.
 */
export class CandleAggregator {
  private current: OpenCandle | null = null;
  /** Closed candles in the window, oldest first. */
  private readonly window: Candle[] = [];
  private windowVolume = new Decimal(0);

  constructor(
    readonly symbol: string,
    /** Recent closed one-minute candles (e.g. from the database), any order; older ones are dropped. */
    history: readonly Candle[] = [],
  ) {
    const sorted = [...history].filter((candle) => candle.symbol === symbol).sort((a, b) => a.openTime - b.openTime);
    for (const candle of sorted) this.pushClosed(candle);
  }

  /** Adds one price with the volume traded at it; returns the candle this closed, if the minute turned. */
  add(price: Decimal.Value, volume: Decimal.Value, time: number): Candle | null {
    const openTime = bucketStart(time, '1m');
    const p = new Decimal(price);
    const v = new Decimal(volume);
    let closed: Candle | null = null;
    if (this.current && openTime > this.current.openTime) {
      closed = this.toCandle(this.current);
      this.pushClosed(closed);
      this.current = null;
    }
    if (!this.current) {
      this.current = { openTime, open: p, high: p, low: p, close: p, volume: v };
    } else {
      // A late price (clock skew) still counts in the open minute.
      if (p.greaterThan(this.current.high)) this.current.high = p;
      if (p.lessThan(this.current.low)) this.current.low = p;
      this.current.close = p;
      this.current.volume = this.current.volume.plus(v);
    }
    this.evict(openTime);
    return closed;
  }

  /** The minute still open, if any, as it stands. */
  openCandle(): Candle | null {
    return this.current ? this.toCandle(this.current) : null;
  }

  stats(): RollingStats {
    const last = this.current?.close ?? (this.window.length > 0 ? new Decimal(this.window[this.window.length - 1]!.close) : null);
    const first = this.window[0]?.open ?? this.current?.open.toFixed() ?? null;
    const volume = this.windowVolume.plus(this.current?.volume ?? 0);
    let change24h: string | null = null;
    if (first !== null && last !== null && !new Decimal(first).isZero()) {
      change24h = last.minus(first).div(first).times(100).toDecimalPlaces(2, Decimal.ROUND_HALF_EVEN).toFixed();
    }
    return { open24h: first, change24h, volume24h: volume.toFixed() };
  }

  private pushClosed(candle: Candle): void {
    const last = this.window[this.window.length - 1];
    if (last && candle.openTime <= last.openTime) return;
    this.window.push(candle);
    this.windowVolume = this.windowVolume.plus(candle.volume);
    this.evict(candle.openTime + MINUTE);
  }

  /** Drops closed candles older than 24 h before the minute starting at `currentOpenTime`. */
  private evict(currentOpenTime: number): void {
    const oldest = currentOpenTime - (WINDOW_MINUTES - 1) * MINUTE;
    while (this.window.length > 0 && this.window[0]!.openTime < oldest) {
      this.windowVolume = this.windowVolume.minus(this.window.shift()!.volume);
    }
  }

  private toCandle(candle: OpenCandle): Candle {
    return {
      symbol: this.symbol,
      openTime: candle.openTime,
      closeTime: candle.openTime + MINUTE,
      open: candle.open.toFixed(),
      high: candle.high.toFixed(),
      low: candle.low.toFixed(),
      close: candle.close.toFixed(),
      volume: candle.volume.toFixed(),
    };
  }
}

/**
 * Groups candles of one symbol or several into the longer `timeframe` (in memory; the live path
 * rolls up in SQL instead). Output is sorted by symbol, then open time.
 */
export function aggregateCandles(candles: readonly Candle[], timeframe: Timeframe): Candle[] {
  const groups = new Map<string, Candle[]>();
  for (const candle of candles) {
    const key = `${candle.symbol}\u0000${bucketStart(candle.openTime, timeframe)}`;
    const group = groups.get(key);
    if (group) group.push(candle);
    else groups.set(key, [candle]);
  }
  const result: Candle[] = [];
  for (const group of groups.values()) {
    group.sort((a, b) => a.openTime - b.openTime);
    const first = group[0]!;
    const openTime = bucketStart(first.openTime, timeframe);
    let high = new Decimal(first.high);
    let low = new Decimal(first.low);
    let volume = new Decimal(0);
    for (const candle of group) {
      high = Decimal.max(high, candle.high);
      low = Decimal.min(low, candle.low);
      volume = volume.plus(candle.volume);
    }
    result.push({
      symbol: first.symbol,
      openTime,
      closeTime: openTime + TIMEFRAMES[timeframe],
      open: first.open,
      high: high.toFixed(),
      low: low.toFixed(),
      close: group[group.length - 1]!.close,
      volume: volume.toFixed(),
    });
  }
  return result.sort((a, b) => (a.symbol === b.symbol ? a.openTime - b.openTime : a.symbol < b.symbol ? -1 : 1));
}
