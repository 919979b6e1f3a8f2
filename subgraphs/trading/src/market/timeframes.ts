/** Candle timeframes the API serves, with their length in milliseconds (UTC, aligned to the epoch). */
export const TIMEFRAMES = {
  '1m': 60_000,
  '5m': 5 * 60_000,
  '15m': 15 * 60_000,
  '1h': 60 * 60_000,
  '4h': 4 * 60 * 60_000,
  '1d': 24 * 60 * 60_000,
} as const;

export type Timeframe = keyof typeof TIMEFRAMES;

export const TIMEFRAME_NAMES = Object.keys(TIMEFRAMES) as Timeframe[];

/**
 * How longer candles are built: each from closed candles of a shorter timeframe it divides
 * evenly, so a 1d candle sums 24 one-hour candles rather than 1440 one-minute ones.
 */
export const ROLLUPS: readonly { timeframe: Exclude<Timeframe, '1m'>; from: Timeframe }[] = [
  { timeframe: '5m', from: '1m' },
  { timeframe: '15m', from: '1m' },
  { timeframe: '1h', from: '1m' },
  { timeframe: '4h', from: '1h' },
  { timeframe: '1d', from: '1h' },
];

export const isTimeframe = (value: string): value is Timeframe => Object.prototype.hasOwnProperty.call(TIMEFRAMES, value);

/** Start of the candle of `timeframe` that contains `time` (ms since the epoch). */
export const bucketStart = (time: number, timeframe: Timeframe): number => Math.floor(time / TIMEFRAMES[timeframe]) * TIMEFRAMES[timeframe];
