import { AppError, type Logger } from '../../../kit/src';

/** One OHLCV candle as the trading subgraph serves it: open time in seconds, prices as decimal strings. */
export interface ChartCandle {
  time: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

/**
 * Where chart candles come from. Resolves to no candles when the market has none (unknown symbol,
 * empty range); rejects when the source cannot be reached (retried, see ScreenshotService).
 */
export interface CandleSource {
  candles(symbol: string, timeframe: string, from: Date, to: Date): Promise<ChartCandle[]>;
}

/** The timeframes the trading subgraph serves, in minutes. */
export const CHART_TIMEFRAMES = { '1m': 1, '5m': 5, '15m': 15, '1h': 60, '4h': 240, '1d': 1440 } as const;
export type ChartTimeframe = keyof typeof CHART_TIMEFRAMES;
/** An alert without a (usable) interval is drawn on hourly candles. */
export const DEFAULT_CHART_TIMEFRAME: ChartTimeframe = '1h';
/** Candles drawn before the signal's candle, and room left after it. */
export const CANDLES_BEFORE = 90;
export const CANDLES_AFTER = 20;

const UNIT_MINUTES: Record<string, number> = { s: 1 / 60, S: 1 / 60, '': 1, m: 1, min: 1, h: 60, H: 60, d: 1440, D: 1440, w: 10_080, W: 10_080, M: 43_200 };

/**
 * The chart timeframe of an alert's interval: ours (`15m`, `4h`) or TradingView's (`15`, `240`,
 * `D`, `1W`). An interval we do not serve gets the longest one not above it (`30` → 15m, `W` → 1d).
 */
export function chartTimeframe(interval: string | null | undefined): ChartTimeframe {
  const match = /^(\d*)\s*([a-zA-Z]*)$/.exec(interval?.trim() ?? '');
  if (!match || (match[1] === '' && match[2] === '') || !(match[2]! in UNIT_MINUTES)) return DEFAULT_CHART_TIMEFRAME;
  const minutes = (match[1] === '' ? 1 : Number(match[1])) * UNIT_MINUTES[match[2]!]!;
  if (!(minutes > 0)) return DEFAULT_CHART_TIMEFRAME;
  let chosen: ChartTimeframe = '1m';
  for (const [name, length] of Object.entries(CHART_TIMEFRAMES) as [ChartTimeframe, number][]) if (length <= minutes) chosen = name;
  return chosen;
}

/** Quote currencies recognised in TradingView tickers such as BTCUSDT (longest first, so USDT wins over USD). */
const QUOTES = ['FDUSD', 'USDT', 'USDC', 'BUSD', 'TUSD', 'USD', 'DAI', 'EUR', 'GBP', 'TRY', 'BTC', 'ETH', 'BNB'];

/** A ccxt unified symbol (BTC/USDT) from ours or TradingView's forms (BINANCE:BTCUSDT, BTCUSDT.P, BTC-USDT); null if unrecognised. */
export function marketSymbol(symbol: string): string | null {
  const text = symbol.trim().toUpperCase().replace(/^[A-Z0-9_]+:/, '');
  if (/^[A-Z0-9]{1,20}\/[A-Z0-9]{1,19}$/.test(text)) return text;
  const plain = text.replace(/\.P$|PERP$/, '').replace(/[-_]/g, '');
  if (!/^[A-Z0-9]{2,39}$/.test(plain)) return null;
  const quote = QUOTES.find((candidate) => plain.endsWith(candidate) && plain.length > candidate.length);
  return quote ? `${plain.slice(0, -quote.length)}/${quote}` : null;
}

const CANDLES_QUERY = `query ScreenshotCandles($symbol: String!, $timeframe: String!, $from: DateTimeISO, $to: DateTimeISO) {
  candles(symbol: $symbol, timeframe: $timeframe, from: $from, to: $to) { openTime open high low close volume }
}`;

/** Answers meaning "this market has no such data": nothing to retry. */
const NO_DATA_CODES = new Set(['NOT_FOUND', 'BAD_USER_INPUT']);

const upstream = (message: string) => new AppError('UPSTREAM_UNAVAILABLE', `trading subgraph: ${message}`);

/**
 * Candles from the trading subgraph's `candles` query over HTTP. An unknown symbol or a range it
 * refuses gives no candles; a network failure, timeout or server error is UPSTREAM_UNAVAILABLE.
 */
export function createTradingCandleSource(options: { tradingUrl: string; timeoutMs?: number; token?: () => Promise<string | null> }): CandleSource {
  const timeoutMs = options.timeoutMs ?? 5_000;
  return {
    async candles(symbol, timeframe, from, to) {
      const token = options.token ? await options.token() : null;
      let response: Response;
      try {
        response = await fetch(options.tradingUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify({ query: CANDLES_QUERY, variables: { symbol, timeframe, from: from.toISOString(), to: to.toISOString() } }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw upstream(error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String((error as Error)?.message ?? error));
      }
      let body: { data?: { candles?: { openTime: string; open: string; high: string; low: string; close: string; volume: string }[] | null } | null; errors?: { message: string; extensions?: { code?: string } }[] };
      try {
        body = (await response.json()) as typeof body;
      } catch {
        throw upstream(`HTTP ${response.status} without a GraphQL answer`);
      }
      const error = body.errors?.[0];
      if (error) {
        if (NO_DATA_CODES.has(error.extensions?.code ?? '')) return [];
        throw upstream(error.message);
      }
      if (!body.data?.candles) throw upstream(`HTTP ${response.status} without candles`);
      return body.data.candles.map((candle) => ({
        time: Math.floor(Date.parse(candle.openTime) / 1000),
        open: candle.open,
        high: candle.high,
        low: candle.low,
        close: candle.close,
        volume: candle.volume,
      }));
    },
  };
}

/** What a chart page draws. */
export interface ChartData {
  /** `ok`: candles drawn; `no-data`: the market has none; `unavailable`: the source failed (worth a retry). */
  status: 'ok' | 'no-data' | 'unavailable';
  symbol: string | null;
  timeframe: ChartTimeframe;
  candles: ChartCandle[];
  /** Open time (s) of the candle the signal arrived in, or the nearest one drawn. */
  markerTime: number | null;
  /** Decimals to show prices with: the most any price of the chart has, 2 to 8. */
  precision: number;
}

const decimals = (value: string | null | undefined): number => (value && value.includes('.') ? value.length - value.indexOf('.') - 1 : 0);

/** Candles around the signal: CANDLES_BEFORE before its candle, CANDLES_AFTER after (when they exist yet). */
export async function loadChartData(
  source: CandleSource,
  signal: { symbol: string; timeframe: string | null; receivedAt: string; price: string | null; takeProfit: string | null; stopLoss: string | null },
  options: { timeoutMs: number; log: Logger },
): Promise<ChartData> {
  const { timeoutMs } = options;
  const timeframe = chartTimeframe(signal.timeframe);
  const symbol = marketSymbol(signal.symbol);
  const lengthMs = CHART_TIMEFRAMES[timeframe] * 60_000;
  const at = Date.parse(signal.receivedAt);
  const precision = Math.min(8, Math.max(2, ...[signal.price, signal.takeProfit, signal.stopLoss].map(decimals)));
  const empty = (status: ChartData['status']): ChartData => ({ status, symbol, timeframe, candles: [], markerTime: null, precision });
  if (!symbol || Number.isNaN(at)) return empty('no-data');
  const start = Math.floor(at / lengthMs) * lengthMs;
  let timer: NodeJS.Timeout | undefined;
  let candles: ChartCandle[];
  try {
    candles = await Promise.race([
      source.candles(symbol, timeframe, new Date(start - CANDLES_BEFORE * lengthMs), new Date(start + (CANDLES_AFTER + 1) * lengthMs)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(upstream(`no candles within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    options.log.warn({ err: error, symbol, timeframe }, 'chart candles unavailable');
    return empty('unavailable');
  } finally {
    clearTimeout(timer);
  }
  if (candles.length === 0) return empty('no-data');
  const signalCandle = Math.floor(start / 1000);
  const before = candles.filter((candle) => candle.time <= signalCandle);
  const markerTime = (before.length > 0 ? before[before.length - 1]! : candles[0]!).time;
  const candlePrecision = Math.max(...candles.slice(-20).flatMap((candle) => [candle.open, candle.high, candle.low, candle.close].map(decimals)));
  return { status: 'ok', symbol, timeframe, candles, markerTime, precision: Math.min(8, Math.max(precision, candlePrecision)) };
}
