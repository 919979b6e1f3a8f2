import { Decimal } from 'decimal.js';
import type { EntityManager } from '../../../kit/src';
import { aggregateCandles, CandleAggregator } from '../market/candle-aggregator';
import { upsertCandles } from '../market/candle-store';
import { InstrumentEntity } from '../market/instrument.entity';
import { splitSymbol } from '../market/instrument.type';
import type { Candle } from '../market/market-feed';
import { PaperFeed } from '../market/paper-feed';
import { bucketStart, TIMEFRAMES } from '../market/timeframes';

/** An instrument to seed, with a plausible price today and how the paper market moves it. */
export interface DemoInstrument {
  symbol: string;
  price: string;
  /** Annualised volatility as a fraction. */
  volatility: string;
  priceDecimals: number;
  amountDecimals: number;
  /** Typical base volume of a day. */
  dailyVolume: string;
}

export const DEMO_INSTRUMENTS: DemoInstrument[] = [
  { symbol: 'BTC/USDT', price: '67250.00', volatility: '0.55', priceDecimals: 2, amountDecimals: 5, dailyVolume: '21500' },
  { symbol: 'ETH/USDT', price: '3480.00', volatility: '0.70', priceDecimals: 2, amountDecimals: 4, dailyVolume: '310000' },
  { symbol: 'SOL/USDT', price: '168.50', volatility: '0.95', priceDecimals: 2, amountDecimals: 3, dailyVolume: '2900000' },
  { symbol: 'BNB/USDT', price: '590.00', volatility: '0.55', priceDecimals: 2, amountDecimals: 3, dailyVolume: '410000' },
  { symbol: 'XRP/USDT', price: '0.5200', volatility: '0.80', priceDecimals: 4, amountDecimals: 1, dailyVolume: '650000000' },
  { symbol: 'ADA/USDT', price: '0.4500', volatility: '0.85', priceDecimals: 4, amountDecimals: 1, dailyVolume: '420000000' },
];

export interface SeedTradingOptions {
  /** History ends at the minute before this (default: now). */
  now?: Date;
  /** Days of hourly history before the last 24 h of one-minute candles (default 60; 0 for none). */
  historyDays?: number;
  /** Seed of the simulated history (default fixed, so every fresh database gets the same charts). */
  seed?: number;
}

const MINUTE = TIMEFRAMES['1m'];
const DAY = TIMEFRAMES['1d'];
/** Steps of the simulated history: every 20 s over the last day (three prices a minute), every 15 min before. */
const RECENT_STEP = 20_000;
const OLD_STEP = 15 * MINUTE;

/**
 * Creates the instruments that do not exist yet, each with simulated candle history ending at
 * its demo price: one-minute candles for the last 24 h (and 5m, 15m rolled up from them), hourly
 * candles for `historyDays` before that (and 4h, 1d from those). Idempotent: an existing
 * instrument, its price and its candles are left alone.
 */
export async function seedTrading(em: EntityManager, instruments: readonly DemoInstrument[] = DEMO_INSTRUMENTS, options: SeedTradingOptions = {}): Promise<{ created: string[] }> {
  const existing = await em.find(InstrumentEntity, { symbol: { $in: instruments.map((instrument) => instrument.symbol) } }, { fields: ['symbol'] });
  const known = new Set(existing.map((row) => row.symbol));
  const missing = instruments.filter((instrument) => !known.has(instrument.symbol));
  if (missing.length === 0) return { created: [] };

  const end = bucketStart((options.now ?? new Date()).getTime(), '1m');
  const recentStart = end - DAY;
  const oldStart = recentStart - (options.historyDays ?? 60) * DAY;
  const feed = new PaperFeed({
    instruments: missing.map((instrument) => ({ ...instrument, price: instrument.price })),
    seed: options.seed ?? 20_240_601,
  });
  const sparse: Candle[] = [];
  const dense: Candle[] = [];
  feed.events.on('candle', (candle) => (candle.openTime < recentStart ? sparse : dense).push(candle));
  for (let time = oldStart; time < recentStart; time += OLD_STEP) feed.tick(time);
  // The tick at `end` closes the last full minute.
  for (let time = recentStart; time <= end; time += RECENT_STEP) feed.tick(time);

  // Scale each walk so it ends at the instrument's demo price.
  const scaled = (candles: Candle[]): Candle[] => candles.map((candle) => scale(candle, ratios.get(candle.symbol)!, decimals.get(candle.symbol)!));
  const decimals = new Map(missing.map((instrument) => [instrument.symbol, instrument.priceDecimals]));
  const ratios = new Map<string, Decimal>();
  for (const instrument of missing) {
    const last = [...dense, ...sparse].filter((candle) => candle.symbol === instrument.symbol).sort((a, b) => b.openTime - a.openTime)[0];
    ratios.set(instrument.symbol, last ? new Decimal(instrument.price).div(last.close) : new Decimal(1));
  }
  const minutes = scaled(dense);
  const hours = aggregateCandles([...scaled(sparse), ...minutes], '1h');
  const byTimeframe = {
    '1m': minutes,
    '5m': aggregateCandles(minutes, '5m'),
    '15m': aggregateCandles(minutes, '15m'),
    '1h': hours,
    '4h': aggregateCandles(hours, '4h'),
    '1d': aggregateCandles(hours, '1d'),
  } as const;

  await em.transactional(async (tx) => {
    for (const instrument of missing) {
      const stats = new CandleAggregator(instrument.symbol, minutes).stats();
      const last = minutes.filter((candle) => candle.symbol === instrument.symbol).pop();
      tx.persist(
        tx.create(InstrumentEntity, {
          symbol: instrument.symbol,
          ...splitSymbol(instrument.symbol),
          exchange: 'paper',
          lastPrice: last?.close ?? instrument.price,
          change24h: stats.change24h,
          volume24h: new Decimal(stats.volume24h).toDecimalPlaces(instrument.amountDecimals, Decimal.ROUND_DOWN).toFixed(),
          priceDecimals: instrument.priceDecimals,
          amountDecimals: instrument.amountDecimals,
          volatility: instrument.volatility,
          createdAt: new Date(end),
          updatedAt: new Date(end),
        }),
      );
    }
    await tx.flush();
    for (const [timeframe, candles] of Object.entries(byTimeframe)) await upsertCandles(tx, timeframe as keyof typeof byTimeframe, candles);
  });
  return { created: missing.map((instrument) => instrument.symbol) };
}

function scale(candle: Candle, ratio: Decimal, priceDecimals: number): Candle {
  const minimum = new Decimal(1).div(new Decimal(10).pow(priceDecimals));
  const price = (value: string) => Decimal.max(new Decimal(value).times(ratio).toDecimalPlaces(priceDecimals, Decimal.ROUND_HALF_EVEN), minimum).toFixed();
  return { ...candle, open: price(candle.open), high: price(candle.high), low: price(candle.low), close: price(candle.close) };
}
