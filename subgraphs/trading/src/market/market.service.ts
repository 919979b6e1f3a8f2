import { EventEmitter } from 'node:events';
import { Repeater } from '@graphql-yoga/subscription';
import type DataLoader from 'dataloader';
import { badInput, notFound, orderedBy, type RequestContext } from '../../../kit/src';
import { conflate } from '../../../kit/src/pubsub';
import { CandleEntity } from './candle.entity';
import { InstrumentEntity } from './instrument.entity';
import { toCandle, toInstrument, type Candle, type Instrument, type PriceMessage } from './instrument.type';
import { MAX_CANDLES, MAX_SUBSCRIBED_SYMBOLS, SYMBOL_PATTERN, type CandlesArgs } from './market.input';
import { priceTopic } from './market-recorder';
import { isTimeframe, TIMEFRAMES } from './timeframes';

/** What the service needs of a pub/sub: type-graphql's PubSub shape. */
export interface PriceSubscriber {
  subscribe(topic: string): AsyncIterable<unknown>;
}

export interface PriceStreamEvents {
  /** A price reached a subscriber's buffer. */
  received: [PriceMessage];
  /** A subscriber had not taken the previous price of this symbol yet: it was replaced by this one. */
  conflated: [PriceMessage];
}

/** Instruments by symbol, one `select … where symbol in (…)` per batch. */
export function instrumentBySymbol(ctx: RequestContext): DataLoader<string, InstrumentEntity | null> {
  return ctx.loaders.get<string, InstrumentEntity | null>('instrument.bySymbol', async (symbols) => {
    const valid = [...new Set(symbols.filter((symbol) => SYMBOL_PATTERN.test(symbol)))];
    const rows = valid.length > 0 ? await ctx.em.find(InstrumentEntity, { symbol: { $in: valid } }) : [];
    return orderedBy(symbols, rows, (row) => row.symbol);
  });
}

/** Market data reads and the live price stream. Resolvers stay thin; this holds the rules. */
export class MarketService {
  /** Observes every subscriber's buffer: for metrics, and for tests to wait on. */
  readonly streams = new EventEmitter<PriceStreamEvents>();
  conflatedTotal = 0;

  constructor(private readonly pubsub: PriceSubscriber) {}

  async instruments(ctx: RequestContext): Promise<Instrument[]> {
    const rows = await ctx.em.find(InstrumentEntity, {}, { orderBy: { symbol: 'asc' } });
    return rows.map(toInstrument);
  }

  /** Null for an unknown symbol (malformed ones included). */
  async instrument(ctx: RequestContext, symbol: string): Promise<Instrument | null> {
    const row = await instrumentBySymbol(ctx).load(symbol.trim());
    return row ? toInstrument(row) : null;
  }

  /**
   * Candles of one instrument and timeframe opening in [from, to), oldest first: the latest
   * `limit` of them (at most 1000). NOT_FOUND for an unknown symbol.
   */
  async candles(ctx: RequestContext, args: CandlesArgs): Promise<Candle[]> {
    if (!isTimeframe(args.timeframe)) throw badInput(`timeframe must be one of ${Object.keys(TIMEFRAMES).join(', ')}`, 'timeframe');
    const limit = args.limit ?? MAX_CANDLES;
    const to = args.to ?? new Date();
    const from = args.from ?? new Date(to.getTime() - limit * TIMEFRAMES[args.timeframe]);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw badInput('from and to must be valid times', 'from');
    if (from.getTime() >= to.getTime()) throw badInput('from must be before to', 'from');
    const instrument = await instrumentBySymbol(ctx).load(args.symbol);
    if (!instrument) throw notFound('Instrument', args.symbol);
    const rows = await ctx.em.find(
      CandleEntity,
      { symbol: args.symbol, timeframe: args.timeframe, openTime: { $gte: from, $lt: to } },
      { orderBy: { openTime: 'desc' }, limit },
    );
    return rows.reverse().map(toCandle);
  }

  /** Checks a subscription's symbols: 1 to 20 distinct, well-formed, known. Returns them deduplicated. */
  async validateSymbols(ctx: RequestContext, symbols: readonly string[]): Promise<string[]> {
    const unique = [...new Set(symbols.map((symbol) => symbol.trim()))];
    if (unique.length === 0 || unique.length > MAX_SUBSCRIBED_SYMBOLS) {
      throw badInput(`symbols must name 1 to ${MAX_SUBSCRIBED_SYMBOLS} instruments`, 'symbols');
    }
    const malformed = unique.filter((symbol) => !SYMBOL_PATTERN.test(symbol));
    if (malformed.length > 0) throw badInput(`symbols must look like BTC/USDT: ${malformed.join(', ')}`, 'symbols');
    const known = await ctx.em.find(InstrumentEntity, { symbol: { $in: unique } }, { fields: ['symbol'] });
    const knownSet = new Set(known.map((row) => row.symbol));
    const unknown = unique.filter((symbol) => !knownSet.has(symbol));
    if (unknown.length > 0) throw badInput(`unknown instruments: ${unknown.join(', ')}`, 'symbols');
    return unique;
  }

  /**
   * Live prices of `symbols` from every replica, conflated per symbol: a subscriber that has not
   * taken the previous price of a symbol gets only the latest one, never a backlog.
   */
  async priceStream(ctx: RequestContext, symbols: readonly string[]): Promise<AsyncIterableIterator<PriceMessage>> {
    const valid = await this.validateSymbols(ctx, symbols);
    const sources = valid.map((symbol) => this.pubsub.subscribe(priceTopic(symbol)) as AsyncIterable<PriceMessage>);
    const merged = sources.length === 1 ? sources[0]! : Repeater.merge(sources);
    return conflate(merged, (message) => message.symbol, {
      onReceive: (message) => this.streams.emit('received', message),
      onReplace: (_previous, latest) => {
        this.conflatedTotal += 1;
        this.streams.emit('conflated', latest);
      },
    });
  }
}
