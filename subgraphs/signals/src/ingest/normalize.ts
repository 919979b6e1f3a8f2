import { Decimal } from 'decimal.js';

/**
 * What an alert asks for. Closing a long and closing a short are both CLOSE: the side closed is
 * still in `extra` (market_position, prev_market_position…) when the alert said it.
 */
export type SignalAction = 'BUY' | 'SELL' | 'CLOSE' | 'NONE';

/** Upper case, letters and digits only: `enter_long`, `Enter Long` and `ENTER-LONG` read alike. */
export const canonicalWord = (word: string): string => word.normalize('NFKC').toUpperCase().replace(/[^A-Z0-9]/g, '');

/**
 * Action words (canonical form) → action. Covers {{strategy.order.action}} (buy/sell),
 * {{strategy.market_position}} (long/short/flat), OKX (ENTER_LONG, EXIT_SHORT…), thibaultyou
 * (long/short/close), pinebridge (closelong), Altrady (close, reduce) and rating words
 * (strong buy, neutral). Bullish/bearish are directions too.
 */
export const ACTION_WORDS: ReadonlyMap<string, SignalAction> = new Map<string, SignalAction>([
  ...['BUY', 'LONG', 'ENTERLONG', 'OPENLONG', 'LONGENTRY', 'ENTRYLONG', 'GOLONG', 'BUYTOOPEN', 'STRONGBUY', 'BULLISH', 'BULL'].map((w) => [w, 'BUY'] as const),
  ...['SELL', 'SHORT', 'ENTERSHORT', 'OPENSHORT', 'SHORTENTRY', 'ENTRYSHORT', 'GOSHORT', 'SELLSHORT', 'SELLTOOPEN', 'STRONGSELL', 'BEARISH', 'BEAR'].map((w) => [w, 'SELL'] as const),
  ...['CLOSE', 'FLAT', 'EXIT', 'EXITLONG', 'EXITSHORT', 'CLOSELONG', 'CLOSESHORT', 'LONGEXIT', 'SHORTEXIT', 'CLOSEALL', 'EXITALL', 'CLOSEPOSITION', 'REDUCE', 'COVER'].map((w) => [w, 'CLOSE'] as const),
  ...['NONE', 'NEUTRAL', 'HOLD'].map((w) => [w, 'NONE'] as const),
]);

/** Words that open or grow a position without saying which side (Altrady open/increase/reverse); the side must come from another field. */
export const SIDELESS_ENTRY_WORDS: ReadonlySet<string> = new Set(['OPEN', 'ENTER', 'ENTRY', 'INCREASE', 'ADD', 'REVERSE']);

export function normalizeAction(word: string): SignalAction | null {
  return ACTION_WORDS.get(canonicalWord(word)) ?? null;
}

/** Quote currencies recognised at the end of a concatenated ticker (longest tried first). */
export const KNOWN_QUOTES = ['FDUSD', 'USDT', 'USDC', 'BUSD', 'TUSD', 'USDP', 'DAI', 'USD', 'EUR', 'GBP', 'JPY', 'AUD', 'CAD', 'CHF', 'NZD', 'TRY', 'BRL', 'BTC', 'ETH', 'BNB'] as const;
const QUOTES_LONGEST_FIRST = [...KNOWN_QUOTES].sort((a, b) => b.length - a.length);
const CODE = /^[A-Z0-9]{1,20}$/;

interface Market {
  base: string;
  quote: string;
  settle?: string;
  expiry?: string;
}

/** BTCUSDT → BTC + USDT by the longest known quote suffix; the base keeps at least two characters (WBTC is not W/BTC). */
function splitConcatenated(code: string): Market | null {
  for (const quote of QUOTES_LONGEST_FIRST) {
    if (code.length - quote.length >= 2 && code.endsWith(quote)) return { base: code.slice(0, -quote.length), quote };
  }
  return null;
}

/** Perpetuals settle in their quote (linear), except USD-quoted ones, which settle in the base (inverse) as on Bybit, OKX and Binance COIN-M. */
const settleOf = (base: string, quote: string): string => (quote === 'USD' ? base : quote);

function marketOf(code: string): { market: Market; exchange?: string } | null {
  const unified = /^([A-Z0-9]+)\/([A-Z0-9]+)(?::([A-Z0-9]+)(?:-(\d{6}))?)?$/.exec(code);
  if (unified) return { market: { base: unified[1], quote: unified[2], settle: unified[3], expiry: unified[4] } };

  // TradingView marks perpetuals with `.P` (BTCUSDT.P) and Binance's with a PERP suffix (BTCUSDTPERP).
  const tvPerp = /^([A-Z0-9]+)\.P$/.exec(code) ?? /^([A-Z0-9]+?)PERP$/.exec(code);
  if (tvPerp) {
    const market = splitConcatenated(tvPerp[1]);
    return market ? { market: { ...market, settle: settleOf(market.base, market.quote) } } : null;
  }

  const parts = code.split(/[-_]/);
  if (parts.some((part) => !CODE.test(part))) return null;
  if (parts.length === 1) {
    const market = splitConcatenated(code);
    return market ? { market } : null;
  }
  if (parts.length === 2) {
    const [base, second] = parts;
    // FTX-style `ETH-PERP`: a USD-margined perpetual settled in USD.
    if (second === 'PERP') return { market: { base, quote: 'USD', settle: 'USD' } };
    return { market: { base, quote: second } };
  }
  if (parts.length === 3) {
    const [first, second, third] = parts;
    // OKX instrument ids: BTC-USDT-SWAP, BTC-USD-250328.
    if (third === 'SWAP' || third === 'PERP') return { market: { base: first, quote: second, settle: settleOf(first, second) } };
    if (/^\d{6}$/.test(third)) return { market: { base: first, quote: second, settle: settleOf(first, second), expiry: third } };
    // Altrady market codes: EXCHANGE_QUOTE_BASE (BYBI_USDT_SOL).
    if (code.includes('_') && !code.includes('-') && (KNOWN_QUOTES as readonly string[]).includes(second)) {
      return { market: { base: third, quote: second }, exchange: first };
    }
  }
  return null;
}

/**
 * A TradingView (or exchange, or ccxt) ticker as a ccxt unified symbol: `BINANCE:BTCUSDT` →
 * BTC/USDT, `BTCUSDT.P` / `BTCUSDTPERP` → BTC/USDT:USDT, `BTCUSD.P` → BTC/USD:BTC (inverse),
 * `BTC-USDT` / `BTC_USDT` / `BTC/USDT` → BTC/USDT, `ETH-USDT-SWAP` → ETH/USDT:USDT,
 * `ETH-PERP` → ETH/USD:USD, `BYBI_USDT_SOL` → SOL/USDT on BYBI, `XAUUSD` → XAU/USD.
 * The exchange is the ticker's prefix, else the hint. Null when no base/quote split is known
 * (stock tickers like AMD, continuous futures like BTC1!).
 */
export function normalizeSymbol(ticker: string, exchangeHint?: string | null): { exchange: string | null; symbol: string } | null {
  const text = ticker.normalize('NFKC').trim().toUpperCase();
  if (text.length === 0 || text.length > 64) return null;
  const prefixed = /^([A-Z][A-Z0-9_]{0,29}):(.+)$/.exec(text);
  const code = prefixed ? prefixed[2] : text;
  const found = marketOf(code);
  if (!found) return null;
  const { base, quote, settle, expiry } = found.market;
  // A base needs a letter: 1000PEPE is a coin, 1000 is not.
  if (base === quote || !/[A-Z]/.test(base) || ![base, quote, ...(settle ? [settle] : [])].every((part) => CODE.test(part))) return null;
  const hint = exchangeHint?.normalize('NFKC').trim().toUpperCase() || null;
  const exchange = prefixed?.[1] ?? found.exchange ?? hint;
  const symbol = `${base}/${quote}${settle ? `:${settle}` : ''}${settle && expiry ? `-${expiry}` : ''}`;
  return { exchange, symbol };
}

const PLAIN_DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?$/;
const GROUPED_DECIMAL = /^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/;

/**
 * A number as a plain decimal string (`'1,234.50'` → `'1234.5'`, `1e-7` → `'0.0000001'`,
 * `'$5'` → `'5'`), or null for anything that is not a finite number (NaN, '', 'abc', '50%',
 * booleans). Sign is kept; callers decide whether zero or negatives make sense.
 */
export function normalizeDecimal(value: unknown): string | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim().replace(/^([+-]?)[$€£]/, '$1');
    if (GROUPED_DECIMAL.test(text)) text = text.replace(/,/g, '');
  } else return null;
  const match = PLAIN_DECIMAL.exec(text);
  // A huge exponent would expand to a huge string; no price or size needs one.
  if (!match || (match[1] !== undefined && Math.abs(Number(match[1])) > 40)) return null;
  const decimal = new Decimal(text);
  return decimal.isZero() ? '0' : decimal.toFixed();
}

const UNIT_MINUTES: ReadonlyArray<[RegExp, number]> = [
  [/^(h|hr|hrs|hour|hours)$/i, 60],
  [/^(d|day|days)$/i, 1440],
  [/^(w|wk|wks|week|weeks)$/i, 10080],
];

function fromMinutes(minutes: number): string {
  if (minutes % 10080 === 0) return `${minutes / 10080}w`;
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

/**
 * A chart interval as a ccxt timeframe. TradingView's {{interval}} is minutes as a number
 * ('15' → '15m', '60' → '1h', '240' → '4h'), or a count and a letter: S seconds, D days, W weeks,
 * M months ('D' / '1D' → '1d', 'W' → '1w', '1M' → '1M', '30S' → '30s'). Spelled-out units
 * ('15 min', '4H', '1 hour') are read too. `m` is minutes and `M` months, as in ccxt.
 */
export function normalizeTimeframe(value: unknown): string | null {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? fromMinutes(value) : null;
  if (typeof value !== 'string') return null;
  const match = /^(\d{0,6})\s*([A-Za-z]*)$/.exec(value.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  const count = match[1] === '' ? 1 : Number(match[1]);
  const unit = match[2];
  if (count <= 0) return null;
  if (unit === '' || unit === 'm' || /^min(s|utes?)?$/i.test(unit)) return fromMinutes(count);
  if (unit === 'M' || /^(mo|mon|month|months)$/i.test(unit)) return `${count}M`;
  if (/^(s|sec|secs|second|seconds)$/i.test(unit)) return count % 60 === 0 ? fromMinutes(count / 60) : `${count}s`;
  for (const [pattern, minutes] of UNIT_MINUTES) if (pattern.test(unit)) return fromMinutes(count * minutes);
  return null;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * {{time}} / {{timenow}} (ISO, UTC: '2025-01-15T14:30:00Z') or epoch seconds / milliseconds as an
 * ISO string; null for anything else. A date-time without zone is read as UTC, like TradingView's.
 */
export function normalizeTimestamp(value: unknown): string | null {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  let time: number;
  if (/^\d{10}$/.test(text)) time = Number(text) * 1000;
  else if (/^\d{13}$/.test(text)) time = Number(text);
  else if (ISO_DATE_TIME.test(text)) {
    const zoned = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(text) || !/[T ]/.test(text) ? text : `${text}Z`;
    time = Date.parse(zoned.replace(' ', 'T'));
  } else return null;
  return Number.isFinite(time) ? new Date(time).toISOString() : null;
}
