import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { EntityManager } from '../../../kit/src';
import { isDecimalString } from '../shared/decimal';
import { SYMBOL_PATTERN } from '../shared/ids';
import { LastPriceEntity } from './last-price.entity';

/** trading's pub/sub topic of one instrument's prices (its `priceTopic`). */
export const priceTopic = (symbol: string): string => `price:${symbol}`;

/** The latest price of an instrument and when it was observed. */
export interface PriceQuote {
  symbol: string;
  /** Decimal string in the quote currency. */
  price: string;
  at: Date;
}

/** What the book needs of a pub/sub: the kit's RedisPubSub (or an in-memory one when printing SDL). */
export interface PriceSource {
  subscribe(topic: string): AsyncIterable<unknown>;
  /** Resolves once a message published on `topic` from now on reaches this process. */
  whenSubscribed?(topic: string): Promise<void>;
}

export interface PriceBookEvents {
  /** A newer price of an instrument arrived (tick or fill). */
  price: [PriceQuote];
  /** The batch of latest prices reached the database. */
  flushed: [string[]];
}

/** Reads trading's price message (`priceMessageOf`): `{ symbol, lastPrice, updatedAt, … }`; null when malformed. */
export function quoteOfMessage(message: unknown): PriceQuote | null {
  if (typeof message !== 'object' || message === null) return null;
  const { symbol, lastPrice, updatedAt } = message as Record<string, unknown>;
  if (typeof symbol !== 'string' || !SYMBOL_PATTERN.test(symbol) || !isDecimalString(lastPrice) || Number(lastPrice) <= 0 || typeof updatedAt !== 'string') return null;
  const at = new Date(updatedAt);
  return Number.isNaN(at.getTime()) ? null : { symbol, price: lastPrice, at };
}

export interface PriceBookOptions {
  pubsub: PriceSource;
  log: Logger;
  /** Milliseconds between two batched writes of the prices that changed. */
  flushMs: number;
}

/**
 * The latest price of every instrument this process follows, in memory. It follows trading's ticks
 * (Redis pub/sub, `price:<symbol>`) of the symbols held or targeted, takes fill prices as
 * observations too, and writes the prices that changed to `last_price` every `flushMs` (at most one
 * write per symbol per flush), so a restarted process values portfolios before the next tick.
 * Only a newer observation replaces a price, except that a tick always replaces a fill's or a
 * stored price (see observe).
 */
export class PriceBook {
  readonly events = new EventEmitter<PriceBookEvents>();
  private readonly prices = new Map<string, PriceQuote & { tick: boolean }>();
  private readonly changed = new Set<string>();
  private readonly followed = new Map<string, Promise<void>>();
  private readonly iterators: AsyncIterator<unknown>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly log: Logger;

  constructor(private readonly options: PriceBookOptions) {
    this.log = options.log.child({ component: 'price-book' });
    // Every subscription stream listens here; their number is not a leak.
    this.events.setMaxListeners(0);
  }

  /** Loads the persisted prices and starts the periodic flush to `em`'s database. */
  async start(em: EntityManager): Promise<void> {
    const rows = await em.fork().find(LastPriceEntity, {});
    for (const row of rows) this.observe({ symbol: row.symbol, price: String(row.price), at: row.observedAt }, { source: 'stored' });
    this.timer = setInterval(() => void this.flush(em), this.options.flushMs);
    this.timer.unref();
  }

  get(symbol: string): PriceQuote | undefined {
    const known = this.prices.get(symbol);
    return known && { symbol: known.symbol, price: known.price, at: known.at };
  }

  /**
   * Keeps `quote` if it is newer than the price known; true when it was. A tick also replaces a
   * price that came from a fill or from the database whatever their times: trading's fill times and
   * its feed's tick times come from different clocks, and the feed is what values holdings.
   */
  observe(quote: PriceQuote, options: { source: 'tick' | 'fill' | 'stored' } = { source: 'tick' }): boolean {
    const tick = options.source === 'tick';
    const known = this.prices.get(quote.symbol);
    if (known && known.at.getTime() >= quote.at.getTime() && !(tick && !known.tick)) return false;
    this.prices.set(quote.symbol, { ...quote, tick });
    if (options.source !== 'stored') this.changed.add(quote.symbol);
    this.events.emit('price', { symbol: quote.symbol, price: quote.price, at: quote.at });
    return true;
  }

  /** The symbols whose ticks this process follows. */
  get symbols(): string[] {
    return [...this.followed.keys()];
  }

  /**
   * Follows the ticks of `symbols` (those not followed yet) from now on; resolves once Redis
   * confirmed every subscription, so a tick published afterwards is seen.
   */
  follow(symbols: Iterable<string>): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const symbol of symbols) {
      if (this.closed || !SYMBOL_PATTERN.test(symbol)) continue;
      let subscribed = this.followed.get(symbol);
      if (!subscribed) {
        subscribed = this.listen(symbol);
        this.followed.set(symbol, subscribed);
      }
      waits.push(subscribed);
    }
    return Promise.all(waits).then(() => undefined);
  }

  private listen(symbol: string): Promise<void> {
    const topic = priceTopic(symbol);
    const iterator = this.options.pubsub.subscribe(topic)[Symbol.asyncIterator]();
    this.iterators.push(iterator);
    const read = async (): Promise<void> => {
      for (;;) {
        const result = await iterator.next();
        if (result.done) return;
        const quote = quoteOfMessage(result.value);
        if (quote && quote.symbol === symbol) this.observe(quote);
        else this.log.warn({ topic }, 'malformed price message; ignored');
      }
    };
    read().catch((error: unknown) => {
      if (!this.closed) this.log.warn({ err: error, symbol }, 'price subscription ended');
    });
    return this.options.pubsub.whenSubscribed?.(topic) ?? Promise.resolve();
  }

  /**
   * Prices of `symbols`: the ones in memory, the others from `last_price` (written by any replica;
   * kept in memory from then on). Symbols with no price at all are missing from the map.
   */
  async resolve(em: EntityManager, symbols: Iterable<string>): Promise<Map<string, PriceQuote>> {
    const found = new Map<string, PriceQuote>();
    const missing: string[] = [];
    for (const symbol of new Set(symbols)) {
      const quote = this.get(symbol);
      if (quote) found.set(symbol, quote);
      else missing.push(symbol);
    }
    if (missing.length > 0) {
      const rows = await em.find(LastPriceEntity, { symbol: { $in: missing } });
      for (const row of rows) {
        const quote = { symbol: row.symbol, price: String(row.price), at: row.observedAt };
        this.observe(quote, { source: 'stored' });
        found.set(row.symbol, this.get(row.symbol)!);
      }
    }
    return found;
  }

  /** Writes the prices that changed since the last flush; writes never overlap. */
  flush(em: EntityManager): Promise<void> {
    this.writing = this.writing.then(() => this.write(em));
    return this.writing;
  }

  private async write(em: EntityManager): Promise<void> {
    const quotes = [...this.changed].map((symbol) => this.get(symbol)!);
    this.changed.clear();
    if (quotes.length === 0) return;
    const params: unknown[] = [];
    const rows = quotes.map((quote) => {
      params.push(quote.symbol, quote.price, quote.at.toISOString());
      return '(?, ?::numeric, ?::timestamptz)';
    });
    try {
      // A row already holding a newer price (another replica wrote it) is left alone.
      await em.fork().getConnection().execute(
        `insert into "last_price" ("symbol", "price", "observed_at") values ${rows.join(', ')}
         on conflict ("symbol") do update set "price" = excluded."price", "observed_at" = excluded."observed_at"
         where "last_price"."observed_at" < excluded."observed_at"`,
        params,
        'run',
      );
      this.events.emit('flushed', quotes.map((quote) => quote.symbol));
    } catch (error) {
      this.log.warn({ err: error, symbols: quotes.length }, 'writing prices failed; the next flush retries');
      for (const quote of quotes) this.changed.add(quote.symbol);
    }
  }

  /** Stops following ticks and flushing, then writes what is pending. */
  async stop(em: EntityManager | null): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.iterators.map((iterator) => iterator.return?.().catch(() => undefined)));
    if (em) await this.flush(em);
  }
}
