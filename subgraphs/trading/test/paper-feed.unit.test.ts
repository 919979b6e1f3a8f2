import { Decimal } from 'decimal.js';
import { aggregateCandles, CandleAggregator } from '../src/market/candle-aggregator';
import type { Candle, Tick } from '../src/market/market-feed';
import { PaperFeed, seededRandom, type PaperInstrument } from '../src/market/paper-feed';

const INSTRUMENTS: PaperInstrument[] = [
  { symbol: 'BTC/USDT', price: '67250.00', volatility: '0.55', priceDecimals: 2, amountDecimals: 5, dailyVolume: '21500' },
  { symbol: 'XRP/USDT', price: '0.5200', volatility: '0.80', priceDecimals: 4, amountDecimals: 1, dailyVolume: '650000000' },
];
const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);
const decimals = (value: string): number => (value.split('.')[1] ?? '').length;

/** Ticks a feed by hand at the given times and collects what it emits. */
function drive(feed: PaperFeed, times: number[]): { ticks: Tick[]; candles: Candle[] } {
  const ticks: Tick[] = [];
  const candles: Candle[] = [];
  feed.events.on('tick', (tick) => ticks.push(tick));
  feed.events.on('candle', (candle) => candles.push(candle));
  for (const time of times) feed.tick(time);
  return { ticks, candles };
}

const every = (start: number, step: number, count: number): number[] => Array.from({ length: count }, (_, i) => start + i * step);

describe('seededRandom', () => {
  it('repeats its sequence for a seed and differs between seeds', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const first = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(first);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(first);
    for (const value of first) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
    }
  });
});

describe('PaperFeed', () => {
  const times = every(T0, 250, 40);

  it('is deterministic: the same seed and tick times give the same ticks', () => {
    const first = drive(new PaperFeed({ instruments: INSTRUMENTS, seed: 7 }), times);
    const second = drive(new PaperFeed({ instruments: INSTRUMENTS, seed: 7 }), times);
    const other = drive(new PaperFeed({ instruments: INSTRUMENTS, seed: 8 }), times);
    expect(second.ticks).toEqual(first.ticks);
    expect(other.ticks.map((tick) => tick.lastPrice)).not.toEqual(first.ticks.map((tick) => tick.lastPrice));
  });

  it('emits one tick per instrument per step, as decimal strings within tick and lot sizes', () => {
    const { ticks } = drive(new PaperFeed({ instruments: INSTRUMENTS, seed: 1 }), times);
    expect(ticks).toHaveLength(times.length * INSTRUMENTS.length);
    for (const tick of ticks) {
      const instrument = INSTRUMENTS.find((candidate) => candidate.symbol === tick.symbol)!;
      expect(tick.exchange).toBe('paper');
      expect(typeof tick.lastPrice).toBe('string');
      expect(tick.lastPrice).toMatch(/^\d+(\.\d+)?$/);
      expect(decimals(tick.lastPrice)).toBeLessThanOrEqual(instrument.priceDecimals);
      expect(new Decimal(tick.lastPrice).greaterThan(0)).toBe(true);
      expect(decimals(tick.volume24h!)).toBeLessThanOrEqual(instrument.amountDecimals);
      expect(tick.change24h).toMatch(/^-?\d+(\.\d{1,2})?$/);
    }
    expect(ticks.filter((tick) => tick.symbol === 'BTC/USDT').map((tick) => tick.timestamp)).toEqual(times);
  });

  it('moves each instrument by its own volatility', () => {
    // Log returns over many steps: their spread follows the configured annualised volatility.
    const calm = { ...INSTRUMENTS[0]!, symbol: 'CALM/USDT', volatility: '0.1', price: '1000.00000000', priceDecimals: 8 };
    const wild = { ...INSTRUMENTS[0]!, symbol: 'WILD/USDT', volatility: '1.0', price: '1000.00000000', priceDecimals: 8 };
    const { ticks } = drive(new PaperFeed({ instruments: [calm, wild], seed: 3 }), every(T0, 60_000, 2_000));
    const spread = (symbol: string) => {
      const prices = ticks.filter((tick) => tick.symbol === symbol).map((tick) => Number(tick.lastPrice));
      const returns = prices.slice(1).map((price, i) => Math.log(price / prices[i]!));
      const mean = returns.reduce((sum, r) => sum + r, 0) / returns.length;
      return Math.sqrt(returns.reduce((sum, r) => sum + (r - mean) ** 2, 0) / returns.length);
    };
    const ratio = spread('WILD/USDT') / spread('CALM/USDT');
    expect(ratio).toBeGreaterThan(8);
    expect(ratio).toBeLessThan(12);
  });

  it('builds one-minute candles from its ticks and emits each when the minute turns', () => {
    // Four ticks a second for three minutes and a bit.
    const { ticks, candles } = drive(new PaperFeed({ instruments: INSTRUMENTS, seed: 11 }), every(T0, 250, 3 * 240 + 1));
    expect(candles.map((candle) => [candle.symbol, candle.openTime])).toEqual([
      ['BTC/USDT', T0],
      ['XRP/USDT', T0],
      ['BTC/USDT', T0 + 60_000],
      ['XRP/USDT', T0 + 60_000],
      ['BTC/USDT', T0 + 120_000],
      ['XRP/USDT', T0 + 120_000],
    ]);
    for (const candle of candles) {
      const inMinute = ticks.filter((tick) => tick.symbol === candle.symbol && tick.timestamp >= candle.openTime && tick.timestamp < candle.closeTime);
      const prices = inMinute.map((tick) => new Decimal(tick.lastPrice));
      expect(inMinute).toHaveLength(240);
      expect(candle.closeTime).toBe(candle.openTime + 60_000);
      expect(candle.open).toBe(prices[0]!.toFixed());
      expect(candle.close).toBe(prices[prices.length - 1]!.toFixed());
      expect(candle.high).toBe(Decimal.max(...prices).toFixed());
      expect(candle.low).toBe(Decimal.min(...prices).toFixed());
    }
    // The rolling 24 h volume of the last tick is the sum of the candles plus the open minute.
    const lastBtc = ticks.filter((tick) => tick.symbol === 'BTC/USDT').pop()!;
    const closedVolume = candles.filter((candle) => candle.symbol === 'BTC/USDT').reduce((sum, candle) => sum.plus(candle.volume), new Decimal(0));
    expect(new Decimal(lastBtc.volume24h!).greaterThanOrEqualTo(closedVolume)).toBe(true);
  });

  it('continues 24 h change and volume from stored history', () => {
    const history: Candle[] = [
      { symbol: 'BTC/USDT', openTime: T0 - 120_000, closeTime: T0 - 60_000, open: '60000', high: '60100', low: '59900', close: '60050', volume: '2' },
      { symbol: 'BTC/USDT', openTime: T0 - 60_000, closeTime: T0, open: '60050', high: '60200', low: '60000', close: '60100', volume: '3' },
    ];
    const feed = new PaperFeed({ instruments: [{ ...INSTRUMENTS[0]!, price: '66000.00', dailyVolume: '0' }], seed: 5, history });
    const [tick] = feed.tick(T0);
    expect(tick!.lastPrice.startsWith('66')).toBe(true);
    // (last - 60000) / 60000 * 100, from the oldest candle's open.
    expect(tick!.change24h).toBe(new Decimal(tick!.lastPrice).minus(60000).div(60000).times(100).toDecimalPlaces(2).toFixed());
    expect(tick!.volume24h).toBe('5');
  });
});

describe('CandleAggregator', () => {
  it('aggregates scripted prices into OHLCV candles and closes them when the minute turns', () => {
    const aggregator = new CandleAggregator('BTC/USDT');
    expect(aggregator.add('100.5', '1', T0 + 1_000)).toBeNull();
    expect(aggregator.add('101.25', '0.5', T0 + 20_000)).toBeNull();
    expect(aggregator.add('99.75', '2', T0 + 40_000)).toBeNull();
    expect(aggregator.add('100', '0.25', T0 + 59_999)).toBeNull();
    expect(aggregator.openCandle()).toEqual({
      symbol: 'BTC/USDT', openTime: T0, closeTime: T0 + 60_000, open: '100.5', high: '101.25', low: '99.75', close: '100', volume: '3.75',
    });
    const closed = aggregator.add('102', '1', T0 + 60_000);
    expect(closed).toEqual({ symbol: 'BTC/USDT', openTime: T0, closeTime: T0 + 60_000, open: '100.5', high: '101.25', low: '99.75', close: '100', volume: '3.75' });
    // A gap of several minutes closes only the minute that had prices.
    const afterGap = aggregator.add('103', '1', T0 + 5 * 60_000 + 10);
    expect(afterGap).toMatchObject({ openTime: T0 + 60_000, open: '102', close: '102', volume: '1' });
    expect(aggregator.stats()).toEqual({ open24h: '100.5', change24h: '2.49', volume24h: '5.75' });
  });

  it('uses exact decimal arithmetic', () => {
    const aggregator = new CandleAggregator('XRP/USDT');
    aggregator.add('0.1', '0.1', T0);
    aggregator.add('0.2', '0.2', T0 + 1);
    expect(aggregator.openCandle()!.volume).toBe('0.3');
  });

  it('drops candles older than 24 h from the rolling figures', () => {
    const day = 24 * 60 * 60_000;
    const aggregator = new CandleAggregator('BTC/USDT', [
      { symbol: 'BTC/USDT', openTime: T0 - day, closeTime: T0 - day + 60_000, open: '50', high: '50', low: '50', close: '50', volume: '100' },
      { symbol: 'BTC/USDT', openTime: T0 - day + 60_000, closeTime: T0 - day + 120_000, open: '80', high: '80', low: '80', close: '80', volume: '7' },
    ]);
    aggregator.add('88', '1', T0);
    // The candle opened exactly 24 h ago left the window; the next one is the reference.
    expect(aggregator.stats()).toEqual({ open24h: '80', change24h: '10', volume24h: '8' });
  });
});

describe('aggregateCandles', () => {
  it('rolls one-minute candles up into longer ones', () => {
    const minutes: Candle[] = every(T0, 60_000, 10).map((openTime, i) => ({
      symbol: 'BTC/USDT', openTime, closeTime: openTime + 60_000, open: String(100 + i), high: String(110 + i), low: String(90 - i), close: String(101 + i), volume: '1.5',
    }));
    expect(aggregateCandles(minutes, '5m')).toEqual([
      { symbol: 'BTC/USDT', openTime: T0, closeTime: T0 + 300_000, open: '100', high: '114', low: '86', close: '105', volume: '7.5' },
      { symbol: 'BTC/USDT', openTime: T0 + 300_000, closeTime: T0 + 600_000, open: '105', high: '119', low: '81', close: '110', volume: '7.5' },
    ]);
  });
});
