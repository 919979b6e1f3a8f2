import { Directive, Field, ObjectType } from 'type-graphql';
import type { CandleEntity } from './candle.entity';
import type { InstrumentEntity } from './instrument.entity';
import type { Tick } from './market-feed';

/**
 * A market, identified across the supergraph by its ccxt unified symbol. Portfolio adds
 * `Instrument.position`, signals `Instrument.signals`.
 */
@ObjectType('Instrument', { description: 'A tradable market such as BTC/USDT. Prices and volumes are decimal strings.' })
@Directive('@key(fields: "symbol")')
export class Instrument {
  @Field(() => String, { description: 'ccxt unified symbol, BASE/QUOTE, e.g. BTC/USDT.' })
  symbol!: string;

  @Field(() => String, { description: 'Base currency, e.g. BTC.' })
  base!: string;

  @Field(() => String, { description: 'Quote currency, e.g. USDT.' })
  quote!: string;

  @Field(() => String, { description: 'Where the price comes from: "paper" (simulated) or a ccxt exchange id such as "binance".' })
  exchange!: string;

  @Field(() => String, { description: 'Last traded price in the quote currency, a decimal string.' })
  lastPrice!: string;

  @Field(() => String, { nullable: true, description: 'Change over the last 24 hours in percent, a decimal string such as "-1.25"; null when unknown.' })
  change24h!: string | null;

  @Field(() => String, { nullable: true, description: 'Base-currency volume of the last 24 hours, a decimal string; null when unknown.' })
  volume24h!: string | null;

  @Field(() => Date, { description: 'When the last price was observed.' })
  updatedAt!: Date;
}

@ObjectType('Candle', { description: 'One OHLCV candle. Prices and volume are decimal strings.' })
export class Candle {
  @Field(() => String)
  symbol!: string;

  @Field(() => String, { description: 'One of 1m, 5m, 15m, 1h, 4h, 1d.' })
  timeframe!: string;

  @Field(() => Date)
  openTime!: Date;

  @Field(() => Date, { description: 'Exclusive end: openTime plus the timeframe.' })
  closeTime!: Date;

  @Field(() => String)
  open!: string;

  @Field(() => String)
  high!: string;

  @Field(() => String)
  low!: string;

  @Field(() => String)
  close!: string;

  @Field(() => String)
  volume!: string;
}

/** The message `priceUpdated` carries over Redis: an Instrument as JSON (dates as ISO strings). */
export interface PriceMessage {
  symbol: string;
  base: string;
  quote: string;
  exchange: string;
  lastPrice: string;
  change24h: string | null;
  volume24h: string | null;
  updatedAt: string;
}

/** Postgres numeric comes back with the column's scale; the API shows plain decimals without exponents. */
const plain = (value: string): string => {
  if (!value.includes('.')) return value;
  const trimmed = value.replace(/0+$/, '');
  return trimmed.endsWith('.') ? trimmed.slice(0, -1) : trimmed;
};

/** BASE/QUOTE of a unified symbol (a derivative's `:SETTLE` suffix is not part of the quote). */
export function splitSymbol(symbol: string): { base: string; quote: string } {
  const [base = '', rest = ''] = symbol.split('/');
  return { base, quote: rest.split(':')[0]! };
}

export function toInstrument(row: InstrumentEntity): Instrument {
  return Object.assign(new Instrument(), {
    symbol: row.symbol,
    base: row.base,
    quote: row.quote,
    exchange: row.exchange,
    lastPrice: plain(String(row.lastPrice)),
    change24h: row.change24h === null ? null : plain(String(row.change24h)),
    volume24h: row.volume24h === null ? null : plain(String(row.volume24h)),
    updatedAt: row.updatedAt,
  });
}

export function toCandle(row: CandleEntity): Candle {
  return Object.assign(new Candle(), {
    symbol: row.symbol,
    timeframe: row.timeframe,
    openTime: row.openTime,
    closeTime: row.closeTime,
    open: plain(String(row.open)),
    high: plain(String(row.high)),
    low: plain(String(row.low)),
    close: plain(String(row.close)),
    volume: plain(String(row.volume)),
  });
}

export function priceMessageOf(tick: Tick): PriceMessage {
  return {
    ...splitSymbol(tick.symbol),
    symbol: tick.symbol,
    exchange: tick.exchange,
    lastPrice: tick.lastPrice,
    change24h: tick.change24h,
    volume24h: tick.volume24h,
    updatedAt: new Date(tick.timestamp).toISOString(),
  };
}

export function instrumentOfMessage(message: PriceMessage): Instrument {
  return Object.assign(new Instrument(), { ...message, updatedAt: new Date(message.updatedAt) });
}
