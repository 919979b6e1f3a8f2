import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { EntityManager } from '../../../kit/src';
import type { TradingConfig } from '../config';
import { CandleEntity } from './candle.entity';
import { CcxtFeed } from './ccxt-feed';
import { InstrumentEntity } from './instrument.entity';
import type { Candle, MarketFeed } from './market-feed';
import { PaperFeed, type PaperInstrument } from './paper-feed';
import { TIMEFRAMES } from './timeframes';

export const paperInstrumentOf = (row: InstrumentEntity): PaperInstrument => ({
  symbol: row.symbol,
  price: String(row.lastPrice),
  volatility: String(row.volatility),
  priceDecimals: row.priceDecimals,
  amountDecimals: row.amountDecimals,
  dailyVolume: row.volume24h === null ? '0' : String(row.volume24h),
});

/** The stored one-minute candles of the last 24 h, so a restarted paper feed keeps its 24 h figures. */
export async function recentMinuteCandles(em: EntityManager, symbols: string[], now = Date.now()): Promise<Candle[]> {
  if (symbols.length === 0) return [];
  const rows = await em.find(
    CandleEntity,
    { symbol: { $in: symbols }, timeframe: '1m', openTime: { $gte: new Date(now - TIMEFRAMES['1d']) } },
    { orderBy: { openTime: 'asc' } },
  );
  return rows.map((row) => ({
    symbol: row.symbol,
    openTime: row.openTime.getTime(),
    closeTime: row.closeTime.getTime(),
    open: String(row.open),
    high: String(row.high),
    low: String(row.low),
    close: String(row.close),
    volume: String(row.volume),
  }));
}

/**
 * The feed MARKET_FEED asks for, over the instruments in the database: `paper` continues from each
 * instrument's last price and recent candles, `ccxt` follows the same symbols on CCXT_EXCHANGE.
 * Null for `off`.
 */
export async function createConfiguredFeed(config: TradingConfig, em: EntityManager, log: Logger): Promise<MarketFeed | null> {
  if (config.marketFeed === 'off') return null;
  const instruments = await em.find(InstrumentEntity, {}, { orderBy: { symbol: 'asc' } });
  if (instruments.length === 0) log.warn('no instruments in the database (run the seed): the market feed has nothing to follow');
  const symbols = instruments.map((row) => row.symbol);
  if (config.marketFeed === 'ccxt') {
    return new CcxtFeed({ ...config.ccxt, symbols, log });
  }
  return new PaperFeed({
    instruments: instruments.map(paperInstrumentOf),
    seed: config.paper.seed ?? randomInt(2 ** 32 - 1),
    tickMs: config.paper.tickMs,
    history: await recentMinuteCandles(em, symbols),
  });
}
