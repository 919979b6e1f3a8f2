import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { MikroORM } from '../../../kit/src';
import { recordCandles } from './candle-store';
import { priceMessageOf } from './instrument.type';
import type { Candle, MarketFeed, Tick } from './market-feed';

/** The pub/sub topic of one instrument's prices (one Redis channel per symbol). */
export const priceTopic = (symbol: string): string => `price:${symbol}`;

/** Candles waiting for the database are capped: past this, the oldest are dropped (and logged). */
const MAX_QUEUED_CANDLES = 50_000;

export interface MarketRecorderOptions {
  orm: MikroORM;
  /** Where every tick is published, on `priceTopic(symbol)`. */
  pubsub: { publish(topic: string, payload: unknown): void };
  log: Logger;
  /** Milliseconds between two batched database writes. */
  flushMs: number;
}

export interface MarketRecorderEvents {
  /** A batch reached the database: the symbols whose price was written and the candles stored. */
  flushed: [{ prices: string[]; candles: number }];
}

/**
 * Takes a feed's output where it goes: every tick straight to Redis pub/sub (subscribers get every
 * price), the latest price per instrument to its row and closed candles to the candle table in
 * batches every `flushMs` (the database sees at most one price write per instrument per flush,
 * however fast the feed ticks).
 */
export class MarketRecorder {
  readonly events = new EventEmitter<MarketRecorderEvents>();
  private readonly latest = new Map<string, Tick>();
  private candles: Candle[] = [];
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private detach: (() => void) | null = null;
  private readonly log: Logger;

  constructor(private readonly options: MarketRecorderOptions) {
    this.log = options.log.child({ component: 'market-recorder' });
  }

  /** Listens to `feed` and starts the periodic flush. */
  start(feed: MarketFeed): void {
    if (this.detach) throw new Error('market recorder already started');
    const onTick = (tick: Tick) => this.record(tick);
    const onCandle = (candle: Candle) => {
      this.candles.push(candle);
      if (this.candles.length > MAX_QUEUED_CANDLES) {
        const dropped = this.candles.splice(0, this.candles.length - MAX_QUEUED_CANDLES);
        this.log.warn({ dropped: dropped.length }, 'candle queue full; oldest candles dropped');
      }
    };
    feed.events.on('tick', onTick);
    feed.events.on('candle', onCandle);
    this.detach = () => {
      feed.events.off('tick', onTick);
      feed.events.off('candle', onCandle);
    };
    this.timer = setInterval(() => void this.flush(), this.options.flushMs);
  }

  /** Publishes one tick and keeps it as the instrument's latest price for the next flush. */
  record(tick: Tick): void {
    this.options.pubsub.publish(priceTopic(tick.symbol), priceMessageOf(tick));
    const previous = this.latest.get(tick.symbol);
    if (!previous || previous.timestamp <= tick.timestamp) this.latest.set(tick.symbol, tick);
  }

  /** Writes what is pending now; writes never overlap, and the promise settles when this one is done. */
  flush(): Promise<void> {
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  /** Stops listening and flushing, then writes what is still pending. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.detach?.();
    this.detach = null;
    await this.flush();
  }

  private async write(): Promise<void> {
    const ticks = [...this.latest.values()];
    this.latest.clear();
    const candles = this.candles;
    this.candles = [];
    if (ticks.length === 0 && candles.length === 0) return;
    const em = this.options.orm.em.fork();
    let written: string[] = [];
    try {
      if (ticks.length > 0) await this.writePrices(em, ticks);
      written = ticks.map((tick) => tick.symbol);
    } catch (error) {
      this.log.warn({ err: error, symbols: ticks.length }, 'writing prices failed; the next flush retries');
      for (const tick of ticks) {
        const newer = this.latest.get(tick.symbol);
        if (!newer || newer.timestamp < tick.timestamp) this.latest.set(tick.symbol, tick);
      }
    }
    let stored = 0;
    try {
      await recordCandles(em, '1m', candles);
      stored = candles.length;
    } catch (error) {
      this.log.warn({ err: error, candles: candles.length }, 'writing candles failed; the next flush retries');
      this.candles = [...candles, ...this.candles];
    }
    this.events.emit('flushed', { prices: written, candles: stored });
  }

  /** One UPDATE for every instrument; a row already holding a newer price (another replica) is left alone. */
  private async writePrices(em: ReturnType<MikroORM['em']['fork']>, ticks: Tick[]): Promise<void> {
    const params: unknown[] = [];
    const rows = ticks.map((tick) => {
      params.push(tick.symbol, tick.exchange, tick.lastPrice, tick.change24h, tick.volume24h, new Date(tick.timestamp).toISOString());
      return '(?, ?, ?, ?, ?, ?)';
    });
    await em.execute(
      `update "instrument" as i
       set "exchange" = v.exchange, "last_price" = v.last_price::numeric, "change24h" = v.change24h::numeric,
           "volume24h" = v.volume24h::numeric, "updated_at" = v.updated_at::timestamptz
       from (values ${rows.join(', ')}) as v(symbol, exchange, last_price, change24h, volume24h, updated_at)
       where i."symbol" = v.symbol and i."updated_at" <= v.updated_at::timestamptz`,
      params,
      'run',
    );
  }
}
