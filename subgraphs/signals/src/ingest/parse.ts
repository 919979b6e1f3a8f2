import { Decimal } from 'decimal.js';
import {
  canonicalWord,
  KNOWN_QUOTES,
  normalizeAction,
  normalizeDecimal,
  normalizeSymbol,
  normalizeTimeframe,
  normalizeTimestamp,
  SIDELESS_ENTRY_WORDS,
  type SignalAction,
} from './normalize';

export type { SignalAction } from './normalize';

/**
 * One alert read from a webhook body. Pure data: the endpoint checks the passphrase, fills what
 * it knows (user, endpoint, received time) and stores the rest.
 */
export interface ParsedAlert {
  /** As sent, e.g. 'BINANCE:BTCUSDT'. */
  ticker: string;
  /** The ticker's prefix, else the body's exchange field ('BINANCE'). */
  exchange: string | null;
  /** ccxt unified: 'BTC/USDT', perpetual 'BTC/USDT:USDT'. */
  symbol: string;
  /** Positive plain decimal ('67890.5'); null when the alert carries no price. */
  price: string | null;
  action: SignalAction;
  /** What happened, as the alert words it ('Bullish divergence'). */
  signalType: string | null;
  indicator: string | null;
  /** ccxt timeframe: '15m', '1h', '4h', '1d', '1w', '1M'. */
  timeframe: string | null;
  chartId: string | null;
  /** A positive price, or a distance from the entry in percent ('2.5%', the form outcome/levels.ts reads). */
  takeProfit: string | null;
  stopLoss: string | null;
  /** A positive decimal or a share of the balance ('50%'), in the sender's units (see extra for unit fields). */
  quantity: string | null;
  /** Extracted for the endpoint to check; never in extra or message. */
  passphrase: string | null;
  /** ISO instant from {{time}} / {{timenow}} / timestamp fields. */
  alertTime: string | null;
  /** Every other field, by its name as sent (nested JSON as 'strategy.market_position'); secrets never. */
  extra: Record<string, string | number | boolean | null>;
  message: string | null;
}

export type AlertFormat = 'json' | 'json-array' | 'key-value' | 'delimited' | 'text';

export type ParseOutcome = { ok: true; alerts: ParsedAlert[]; format: AlertFormat } | { ok: false; reason: string; format: string | null };

export interface ParseLimits {
  maxBytes?: number;
  maxBatch?: number;
}

export const DEFAULT_MAX_BYTES = 64 * 1024;
export const DEFAULT_MAX_BATCH = 100;
/** Free-text fields are cut to the columns that store them. */
export const FIELD_MAX_LENGTH = { indicator: 200, signalType: 50, chartId: 100, quantity: 50 } as const;

/**
 * Field names per slot, best first. Matching ignores case and every character but letters and
 * digits, so `take_profit`, `takeProfit` and `Take Profit:` are one name, and nested JSON is matched
 * by its whole path (`strategy.order_action` = `strategy.order.action`).
 */
export const FIELD_ALIASES = {
  ticker: ['ticker', 'tickerid', 'symbol', 'pair', 'instrument', 'tv_instrument', 'tv_symbol', 'tv_ticker', 'instId', 'instrument_id', 'market'],
  exchange: ['exchange', 'tv_exchange', 'broker', 'venue'],
  price: ['price', 'order_price', 'strategy.order.price', 'entry_price', 'entry', 'signal_price', 'trigger_price', 'close', 'bar.close', 'close_price', 'last_price'],
  /** A value here must be an action word; anything else refuses the alert. */
  action: ['action', 'order_action', 'strategy.order.action', 'side', 'order_side', 'direction', 'command', 'cmd', 'trade_action'],
  /** Used as the action only when the value is an action word (`signal=long`, `type: SHORT`); `order` often names an order instead. */
  softAction: ['signal', 'order', 'type'],
  /** Where an Altrady-style `open` / `increase` / `reverse` finds its side. */
  side: ['side', 'direction', 'position_side'],
  /** {{strategy.market_position}}: the position after the order. */
  marketPosition: ['market_position', 'strategy.market_position', 'strategy_info.market_position'],
  signalType: ['signal_type', 'signal', 'signal_name', 'condition', 'alert_condition', 'alert_name', 'event', 'pattern'],
  indicator: ['indicator', 'indicator_name', 'study', 'study_name', 'script', 'strategy_name', 'algo', 'algorithm'],
  timeframe: ['timeframe', 'interval', 'tf', 'resolution'],
  chartId: ['chart_id', 'chart', 'chart_url', 'layout_id', 'layout'],
  takeProfit: ['take_profit', 'tp', 'take_profit_price', 'tp_price', 'takeProfit.limitPrice', 'takeProfit.price', 'tp1', 'take_profit_1', 'target', 'target_price', 'profit_target'],
  stopLoss: ['stop_loss', 'sl', 'stop_loss_price', 'sl_price', 'stopLoss.stopPrice', 'stopLoss.price', 'stop_price', 'sl1', 'stop_loss_1'],
  takeProfitPercent: ['take_profit_percent', 'takeProfit.percent', 'tp_percent', 'tp_pct', 'take_profit_pct'],
  stopLossPercent: ['stop_loss_percent', 'stopLoss.percent', 'sl_percent', 'sl_pct', 'stop_loss_pct'],
  quantity: ['quantity', 'qty', 'contracts', 'size', 'amount', 'order_qty', 'order_quantity', 'order_size', 'order.amount', 'order_contracts', 'strategy.order.contracts'],
  alertTime: ['timenow', 'alert_time', 'fired_at', 'timestamp', 'time', 'datetime'],
  message: ['message', 'msg', 'text', 'comment', 'note', 'notes', 'alert_message', 'description'],
  /** The first present is the passphrase; all of them (and any *secret*, *token*, *password*, api_key…) are dropped. */
  passphrase: ['passphrase', 'secret', 'webhook_secret', 'password', 'pass', 'key', 'webhook_key', 'token', 'signalToken', 'api_token', 'auth_token', 'license_id'],
} as const;

const keyOf = (name: string): string => name.normalize('NFKC').toLowerCase().replace(/[^a-z0-9]/g, '');
type Slot = keyof typeof FIELD_ALIASES;
const ALIASES = Object.fromEntries(Object.entries(FIELD_ALIASES).map(([slot, names]) => [slot, names.map(keyOf)])) as Record<Slot, string[]>;
const KNOWN_KEYS = new Set(Object.values(ALIASES).flat());
const SECRET_KEY = /passphrase|secret|password|token|apikey|privatekey|licensekey/;
const PASSPHRASE_KEYS = new Set(ALIASES.passphrase);

/** A scalar from the body. `numeric` marks JSON number literals, kept as written (never a float). */
interface Field {
  key: string;
  canon: string;
  leaf: string;
  value: string | boolean | null;
  numeric: boolean;
}

/** What position-based text gave (BVA pipes, PineConnector commas, `BUY BTCUSDT @ 67890`). */
interface Positional {
  ticker?: string;
  action?: string;
  price?: string;
  passphrase?: string;
  indicator?: string;
  message?: string;
}

interface Draft {
  fields: Field[];
  positional: Positional;
  text: boolean;
}

type Built = { ok: true; alert: ParsedAlert } | { ok: false; reason: string };

const field = (key: string, leaf: string, value: string | boolean | null, numeric = false): Field => ({ key, canon: keyOf(key), leaf: keyOf(leaf), value, numeric });
const textOf = (f: Field): string => (f.value === null ? '' : String(f.value).trim());
const clip = (text: string, max = 40): string => (text.length > max ? `${text.slice(0, max)}…` : text);
const isSecret = (f: Field): boolean => PASSPHRASE_KEYS.has(f.canon) || PASSPHRASE_KEYS.has(f.leaf) || SECRET_KEY.test(f.canon);

function positiveDecimal(text: string): string | null {
  const decimal = normalizeDecimal(text);
  return decimal !== null && new Decimal(decimal).gt(0) ? decimal : null;
}

/** '2.5%' → '2.5%' for 0 < percent < 100; null otherwise. */
function percentOf(text: string): string | null {
  const decimal = normalizeDecimal(text.replace(/%$/, ''));
  return decimal !== null && new Decimal(decimal).gt(0) && new Decimal(decimal).lt(100) ? `${decimal}%` : null;
}

/** Direction in descriptive wording ('Bullish divergence' → BUY, 'Sell Alert' → SELL); null when none or both. */
function inferDirection(text: string): SignalAction | null {
  const words = new Set(text.toLowerCase().split(/[^a-z]+/));
  const up = ['bull', 'bullish', 'long', 'buy'].some((w) => words.has(w));
  const down = ['bear', 'bearish', 'short', 'sell'].some((w) => words.has(w));
  return up === down ? null : up ? 'BUY' : 'SELL';
}

/**
 * Whether a sell/buy closed the position, read from the strategy's position after the order: an
 * order that leaves it flat, or that trades against the side still held (a partial exit), closes.
 */
function withPositionAfter(action: SignalAction, after: SignalAction | null): SignalAction {
  if (action !== 'BUY' && action !== 'SELL') return action;
  if (after === 'CLOSE' || (after === 'BUY' && action === 'SELL') || (after === 'SELL' && action === 'BUY')) return 'CLOSE';
  return action;
}

/**
 * Why a BUY/SELL's price levels are on the wrong side of its price, or null. Percent levels are
 * distances and always on the right side. Exported so the endpoint can check again after it
 * fills a missing price from the market.
 */
export function checkBracket(action: SignalAction, price: string | null, takeProfit: string | null, stopLoss: string | null): string | null {
  if (price === null || (action !== 'BUY' && action !== 'SELL')) return null;
  const entry = new Decimal(price);
  const buy = action === 'BUY';
  if (takeProfit !== null && !takeProfit.endsWith('%') && (buy ? !entry.lt(takeProfit) : !entry.gt(takeProfit))) {
    return `take-profit ${takeProfit} is not ${buy ? 'above' : 'below'} the price ${price} of a ${action}`;
  }
  if (stopLoss !== null && !stopLoss.endsWith('%') && (buy ? !entry.gt(stopLoss) : !entry.lt(stopLoss))) {
    return `stop-loss ${stopLoss} is not ${buy ? 'below' : 'above'} the price ${price} of a ${action}`;
  }
  return null;
}

const TICKER_MISSING_JSON = `no ticker/symbol field found (looked for ${FIELD_ALIASES.ticker.join(', ')})`;
const TICKER_MISSING_TEXT =
  'no ticker/symbol found: no ticker, symbol, pair or instrument field and no market such as BTCUSDT or BINANCE:BTCUSDT in the text (add {{ticker}} to the alert message)';

function extraValue(f: Field): string | number | boolean | null {
  if (!f.numeric || typeof f.value !== 'string') return f.value;
  const number = Number(f.value);
  // Only when the number prints back as sent; otherwise the exact text is kept.
  return String(number) === f.value ? number : f.value;
}

/** A ticker inside a text value ('Signal: Bullish divergence on BINANCE:BTCUSDT'), secrets excepted. */
function tickerInValues(fields: Field[]): string | undefined {
  for (const f of fields) {
    if (isSecret(f) || typeof f.value !== 'string') continue;
    for (const token of f.value.split(/\s+/)) {
      const ticker = tickerToken(token);
      if (ticker) return ticker;
    }
  }
  return undefined;
}

function buildAlert(draft: Draft): Built {
  const { fields, positional } = draft;
  const used = new Set<Field>();
  // Loops, not flatMap and filter: every alert asks for a dozen slots of up to a dozen aliases.
  const byCanon = new Map<string, Field[]>();
  for (const f of fields) {
    const same = byCanon.get(f.canon);
    if (same) same.push(f);
    else byCanon.set(f.canon, [f]);
  }
  const candidates = (slot: Slot): Field[] => {
    const found: Field[] = [];
    for (const alias of ALIASES[slot]) for (const f of byCanon.get(alias) ?? []) if (!used.has(f)) found.push(f);
    return found;
  };
  const find = (slot: Slot): Field | undefined => {
    for (const alias of ALIASES[slot]) for (const f of byCanon.get(alias) ?? []) if (!used.has(f)) return f;
    return undefined;
  };
  const refuse = (reason: string): Built => ({ ok: false, reason });
  const name = (f: Field): string => `field '${f.key}'`;

  const secrets = fields.filter(isSecret);
  const passField = ALIASES.passphrase.map((alias) => secrets.find((f) => f.canon === alias || f.leaf === alias)).find((f) => f !== undefined);
  const passphrase = (passField ? textOf(passField) : positional.passphrase) || null;
  for (const f of secrets) used.add(f);

  // Market.
  const tickerField = find('ticker');
  const ticker = tickerField ? textOf(tickerField) : (positional.ticker ?? (draft.text ? tickerInValues(fields) : undefined));
  if (tickerField && !ticker) return refuse(`${name(tickerField)} is empty`);
  if (!ticker) return refuse(draft.text ? TICKER_MISSING_TEXT : TICKER_MISSING_JSON);
  const exchangeField = candidates('exchange').find((f) => /^[A-Za-z0-9_.-]{1,50}$/.test(textOf(f)));
  const market = normalizeSymbol(ticker, exchangeField ? textOf(exchangeField) : null);
  if (!market) {
    const source = tickerField ? name(tickerField) : 'the text';
    return refuse(
      `cannot read a market from ${source}: '${clip(ticker)}' is not a pair such as BTCUSDT, BINANCE:BTCUSDT, BTC/USDT or BTCUSDT.P (known quotes: ${KNOWN_QUOTES.join(', ')})`,
    );
  }
  if (tickerField) used.add(tickerField);
  if (exchangeField && textOf(exchangeField).toUpperCase() === market.exchange) used.add(exchangeField);

  // Price.
  let price: string | null = positional.price ?? null;
  const priceField = find('price');
  if (priceField) {
    price = positiveDecimal(textOf(priceField));
    if (price === null) return refuse(`${name(priceField)} is not a positive number: '${clip(textOf(priceField))}'`);
    used.add(priceField);
  }

  // Action: an action field, else a soft one, else position text, else the strategy position,
  // else the direction the signal's wording implies.
  let action: SignalAction | null = null;
  const actionField = find('action');
  if (actionField) {
    used.add(actionField);
    const word = textOf(actionField);
    action = normalizeAction(word);
    if (action === null && SIDELESS_ENTRY_WORDS.has(canonicalWord(word))) {
      const sideField = candidates('side').find((f) => ['BUY', 'SELL'].includes(normalizeAction(textOf(f)) ?? ''));
      if (!sideField) return refuse(`${name(actionField)} says '${clip(word)}' but not which side: add side: long or short`);
      used.add(sideField);
      action = normalizeAction(textOf(sideField));
    }
    if (action === null) {
      return refuse(`${name(actionField)} has an unknown action '${clip(word)}' (expected buy/sell, long/short, enter_long/exit_short…, close/exit/flat)`);
    }
  }
  if (action === null) {
    const soft = candidates('softAction').find((f) => normalizeAction(textOf(f)) !== null);
    if (soft) {
      used.add(soft);
      action = normalizeAction(textOf(soft));
    }
  }
  if (action === null && positional.action) action = normalizeAction(positional.action);
  const positionField = find('marketPosition');
  if (positionField) {
    const after = normalizeAction(textOf(positionField));
    if (action === null && after !== null) {
      used.add(positionField);
      action = after;
    } else if (action !== null && actionField) action = withPositionAfter(action, after);
  }

  const signalTypeField = candidates('signalType').find((f) => typeof f.value === 'string' && textOf(f) !== '');
  if (signalTypeField) used.add(signalTypeField);
  const signalType = signalTypeField ? textOf(signalTypeField).slice(0, FIELD_MAX_LENGTH.signalType) : null;
  if (action === null && signalType) action = inferDirection(signalType);
  action ??= 'NONE';

  // Levels: a price or a percent, else a percent-only field (TradersPost's takeProfit.percent).
  const level = (priceSlot: Slot, percentSlot: Slot, label: string): { value: string | null } | { reason: string } => {
    const direct = find(priceSlot);
    if (direct) {
      const text = textOf(direct);
      const value = text.endsWith('%') ? percentOf(text) : positiveDecimal(text);
      if (value === null) return { reason: `${label} ${name(direct)} is not a positive price or a percent: '${clip(text)}'` };
      used.add(direct);
      return { value };
    }
    const percent = find(percentSlot);
    if (!percent) return { value: null };
    const value = percentOf(textOf(percent));
    if (value === null) return { reason: `${label} ${name(percent)} is not a percent between 0 and 100: '${clip(textOf(percent))}'` };
    used.add(percent);
    return { value };
  };
  const tp = level('takeProfit', 'takeProfitPercent', 'take-profit');
  if ('reason' in tp) return refuse(tp.reason);
  const sl = level('stopLoss', 'stopLossPercent', 'stop-loss');
  if ('reason' in sl) return refuse(sl.reason);
  const bracket = checkBracket(action, price, tp.value, sl.value);
  if (bracket) return refuse(bracket);

  // Lenient slots: a value that does not read stays in extra under its own name.
  const pick = <T>(slot: Slot, read: (f: Field) => T | null): T | null => {
    for (const f of candidates(slot)) {
      const value = read(f);
      if (value !== null) {
        used.add(f);
        return value;
      }
    }
    return null;
  };
  const quantity = pick('quantity', (f) => {
    const text = textOf(f);
    const value = text.endsWith('%') ? percentOf(text) : positiveDecimal(text);
    return value !== null && value.length <= FIELD_MAX_LENGTH.quantity ? value : null;
  });
  const timeframe = pick('timeframe', (f) => normalizeTimeframe(textOf(f)));
  const alertTime = pick('alertTime', (f) => normalizeTimestamp(textOf(f)));
  const chartId = pick('chartId', (f) => {
    const text = textOf(f);
    const fromUrl = /tradingview\.com\/chart\/(?:[^/?#]*\/)?([A-Za-z0-9]{4,})\/?(?:[?#]|$)/.exec(text)?.[1];
    const id = fromUrl ?? text;
    return /^[A-Za-z0-9_-]+$/.test(id) && id.length <= FIELD_MAX_LENGTH.chartId ? id : null;
  });
  const indicator = pick('indicator', (f) => (typeof f.value === 'string' && textOf(f) !== '' ? textOf(f) : null)) ?? positional.indicator ?? null;
  const message = pick('message', (f) => (typeof f.value === 'string' && textOf(f) !== '' ? textOf(f) : null)) ?? positional.message ?? null;

  const extra: ParsedAlert['extra'] = {};
  for (const f of fields) if (!used.has(f)) extra[f.key] = extraValue(f);

  return {
    ok: true,
    alert: {
      ticker,
      exchange: market.exchange,
      symbol: market.symbol,
      price,
      action,
      signalType,
      indicator: indicator?.slice(0, FIELD_MAX_LENGTH.indicator) ?? null,
      timeframe,
      chartId,
      takeProfit: tp.value,
      stopLoss: sl.value,
      quantity,
      passphrase,
      alertTime,
      extra,
      message,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// JSON, read by hand so numbers stay the exact text sent (no float rounding of prices) and a
// refusal can say which field broke (a placeholder that rendered as NaN or nothing).

class JsonNumber {
  constructor(readonly raw: string) {}
}
type JsonValue = string | boolean | null | JsonNumber | JsonValue[] | JsonObject;
type JsonObject = Map<string, JsonValue>;

class JsonSyntaxError extends Error {}

const MAX_JSON_DEPTH = 20;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

function parseJson(text: string): JsonValue {
  let pos = 0;
  const path: string[] = [];

  const fail = (what: string): never => {
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    const column = pos - before.lastIndexOf('\n');
    const where = path.length > 0 ? ` in the value of "${path.join('.')}"` : '';
    throw new JsonSyntaxError(`invalid JSON at line ${line} column ${column}${where}: ${what}`);
  };
  const space = (): void => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos])) pos++;
  };
  const expect = (char: string): void => {
    space();
    if (text[pos] !== char) fail(`expected '${char}'`);
    pos++;
  };

  const string = (): string => {
    pos++;
    let out = '';
    for (;;) {
      const char = text[pos];
      if (char === undefined) return fail('unterminated string');
      if (char === '"') {
        pos++;
        return out;
      }
      if (char < ' ') fail('raw control character in a string');
      if (char === '\\') {
        const escape = text[pos + 1];
        if (escape === 'u') {
          const hex = text.slice(pos + 2, pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 6;
        } else {
          if (escape === undefined || !(escape in ESCAPES)) fail('bad escape');
          out += ESCAPES[escape];
          pos += 2;
        }
        continue;
      }
      out += char;
      pos++;
    }
  };

  const value = (depth: number): JsonValue => {
    space();
    const char = text[pos];
    if (char === '{' || char === '[') {
      if (depth >= MAX_JSON_DEPTH) fail(`nested deeper than ${MAX_JSON_DEPTH} levels`);
      return char === '{' ? object(depth + 1) : array(depth + 1);
    }
    if (char === '"') return string();
    NUMBER.lastIndex = pos;
    const number = NUMBER.exec(text);
    if (number) {
      pos += number[0].length;
      return new JsonNumber(number[0]);
    }
    for (const [word, literal] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return literal;
      }
    }
    if (char === undefined) return fail('unexpected end of body');
    if (char === ',' || char === '}' || char === ']') return fail('missing value (a placeholder that rendered empty?)');
    const word = /^[A-Za-z]+/.exec(text.slice(pos, pos + 20))?.[0];
    if (word === 'NaN' || word === 'Infinity' || word === 'undefined') return fail(`${word} is not a JSON value (a placeholder that rendered ${word}?)`);
    return fail(word ? `unquoted text '${word}'` : `unexpected '${char}'`);
  };

  const object = (depth: number): JsonObject => {
    pos++;
    const out: JsonObject = new Map();
    space();
    if (text[pos] === '}') {
      pos++;
      return out;
    }
    for (;;) {
      space();
      if (text[pos] !== '"') fail('expected a quoted field name');
      const key = string();
      expect(':');
      path.push(key);
      out.set(key, value(depth));
      path.pop();
      space();
      if (text[pos] === ',') pos++;
      else if (text[pos] === '}') {
        pos++;
        return out;
      } else fail(`expected ',' or '}' after the value of "${key}"`);
    }
  };

  const array = (depth: number): JsonValue[] => {
    pos++;
    const out: JsonValue[] = [];
    space();
    if (text[pos] === ']') {
      pos++;
      return out;
    }
    for (;;) {
      path.push(String(out.length));
      out.push(value(depth));
      path.pop();
      space();
      if (text[pos] === ',') pos++;
      else if (text[pos] === ']') {
        pos++;
        return out;
      } else fail("expected ',' or ']'");
    }
  };

  const result = value(0);
  space();
  if (pos < text.length) fail('unexpected text after the JSON value');
  return result;
}

function tryJson(text: string): JsonValue | JsonSyntaxError {
  try {
    return parseJson(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return error;
    throw error;
  }
}

function flatten(value: JsonValue, key: string, leaf: string, out: Field[]): void {
  if (value instanceof Map) for (const [name, inner] of value) flatten(inner, key ? `${key}.${name}` : name, name, out);
  else if (Array.isArray(value)) value.forEach((inner, index) => flatten(inner, `${key}.${index}`, leaf, out));
  else if (value instanceof JsonNumber) out.push(field(key, leaf, value.raw, true));
  else out.push(field(key, leaf, value));
}

const describeJson = (value: JsonValue): string =>
  value === null ? 'null' : value instanceof JsonNumber ? 'a number' : typeof value === 'string' ? 'a string' : 'a boolean';

// ---------------------------------------------------------------------------------------------
// Text: `Key: value` lines (TradingView's standard message, emoji allowed), `key=value` lists,
// pipe/comma separated fields, and one-line commands such as `BUY BTCUSDT @ 67890`.

const PAIR = /^[^\p{L}\p{N}]*?(\p{L}[\p{L}\p{N} _.\/#()+-]{0,39}?)[*_\s]*([=:])(\s*)([\s\S]*)$/u;

/** `Key: value` / `key=value`. After a colon a space is required unless the key is a known name, so `BINANCE:BTCUSDT` stays a ticker. */
function readPair(segment: string): Field | null {
  const match = PAIR.exec(segment.trim());
  if (!match) return null;
  const [, rawKey, separator, gap, rawValue] = match;
  const key = rawKey.trim();
  if (separator === ':' && gap === '' && !KNOWN_KEYS.has(keyOf(key))) return null;
  const wrapped = /^([*_`"']+)([\s\S]*?)\1$/.exec(rawValue.trim());
  return field(key, key, wrapped ? wrapped[2] : rawValue.trim());
}

/** Strips emoji, markdown and punctuation around a word ('*#BTCUSDT*' → 'BTCUSDT', '`67890`' → '67890'). */
const bare = (token: string): string => token.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');

/** A token that is a market as TradingView writes it (upper case, optional EXCHANGE: prefix). */
function tickerToken(token: string): string | null {
  const word = bare(token);
  if (!/^(?:[A-Z][A-Z0-9_]*:)?[A-Z0-9][A-Z0-9._/-]*$/.test(word)) return null;
  if (normalizeAction(word) !== null || SIDELESS_ENTRY_WORDS.has(word)) return null;
  return normalizeSymbol(word) ? word : null;
}

/**
 * Words: the market is any upper-case ticker, the price follows '@' or 'at', and the action is one
 * of the first two words, only where a message starts (`atStart`), so prose ('…, close above the
 * band') gives none.
 */
function scanWords(line: string, positional: Positional, fields: Field[], atStart: boolean): string {
  const tokens = line.split(/\s+/).filter(Boolean);
  const words: string[] = [];
  let position = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const pair = token.includes('=') ? readPair(token) : null;
    if (pair) {
      fields.push(pair);
      continue;
    }
    words.push(token);
    const next = /^(?:@|at)$/i.test(token) ? tokens[i + 1] : undefined;
    const atPrice = next ?? (token.startsWith('@') ? token.slice(1) : undefined);
    if (atPrice !== undefined && positional.price === undefined) {
      const price = positiveDecimal(atPrice.replace(/^[`*_]+|[`*_]+$/g, ''));
      if (price !== null) {
        positional.price = price;
        if (next !== undefined) words.push(tokens[++i]);
        continue;
      }
    }
    const word = bare(token);
    if (word === '') continue;
    if (atStart && position < 2 && positional.action === undefined && normalizeAction(word) !== null) positional.action = word;
    else if (positional.ticker === undefined) positional.ticker = tickerToken(token) ?? undefined;
    position++;
  }
  return words.join(' ');
}

/** Splits on commas but keeps thousands groups whole ('Price: 67,890.5'). */
function splitCommas(line: string): string[] {
  const parts: string[] = [];
  for (const part of line.split(',')) {
    const last = parts.length - 1;
    if (last >= 0 && /(?:^|[^\d,.])\d{1,3}(?:,\d{3})*$/.test(parts[last].slice(-40)) && /^\d{3}(?:\.\d+)?(?:[^\w,.]|$)/.test(part)) parts[last] += `,${part}`;
    else parts.push(part);
  }
  return parts;
}

function readText(text: string): { format: AlertFormat; draft: Draft } {
  const fields: Field[] = [];
  const positional: Positional = {};
  const draft: Draft = { fields, positional, text: true };
  const lines = text
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .filter(Boolean);

  if (lines.length > 1) {
    const free: string[] = [];
    for (const line of lines) {
      for (const segment of line.includes('|') ? line.split('|') : [line]) {
        if (segment.trim() === '') continue;
        const pair = readPair(segment);
        if (pair) fields.push(pair);
        else free.push(scanWords(segment, positional, fields, free.length === 0));
      }
    }
    positional.message = free.filter(Boolean).join('\n') || undefined;
    return { format: 'text', draft };
  }

  const line = lines[0];
  const segments = (line.includes('|') ? line.split('|') : line.includes(',') ? splitCommas(line) : [line]).map((s) => s.trim()).filter(Boolean);
  if (segments.length > 1) {
    // BVA `key|strategy|action|ticker`, PineConnector `LicenseID,buy,EURUSD,risk=1,sl=10,tp=20`.
    const free: string[] = [];
    segments.forEach((segment, index) => {
      const pair = readPair(segment);
      const ticker = tickerToken(segment);
      if (pair) fields.push(pair);
      else if (positional.action === undefined && normalizeAction(segment) !== null) positional.action = segment;
      else if (positional.ticker === undefined && ticker !== null) positional.ticker = ticker;
      else if (positional.price === undefined && positiveDecimal(segment) !== null) positional.price = positiveDecimal(segment) ?? undefined;
      // A leading bare token is the sender's key in the formats that use one (BVA key, PineConnector LicenseID).
      else if (index === 0 && segments.length >= 3 && /^\S+$/.test(segment)) positional.passphrase = segment;
      else free.push(segment);
    });
    // Then what single fields did not give, from the wording ('Long BTCUSDT at 67890, RSI 30').
    for (const segment of free) scanWords(segment, positional, fields, segment === segments[0]);
    positional.indicator = free[0];
    positional.message = free.slice(1).join(' | ') || undefined;
    return { format: segments.every((s) => readPair(s) !== null) ? 'key-value' : 'delimited', draft };
  }

  const tokens = line.split(/\s+/);
  if (tokens.every((token) => token.includes('=') && readPair(token) !== null)) {
    for (const token of tokens) fields.push(readPair(token) as Field);
    return { format: 'key-value', draft };
  }
  const single = readPair(line);
  if (single && KNOWN_KEYS.has(single.canon)) {
    fields.push(single);
    return { format: 'text', draft };
  }
  positional.message = scanWords(line, positional, fields, true) || undefined;
  return { format: 'text', draft };
}

// ---------------------------------------------------------------------------------------------

const PLACEHOLDER = /\{\{[^{}]*\}\}/g;
const JSON_SCALAR = /^(?:"[\s\S]*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)$/;

/**
 * Reads a webhook body into alerts, or says why not. Accepts a JSON object, a JSON array (a batch:
 * atomic, one bad element refuses it all and the reason names its index), `key=value` text, pipe
 * or comma separated text, `Key: value` lines (emoji prefixes allowed) and one-line commands.
 * `contentType` is the request's; TradingView sends application/json only for valid JSON, so a
 * JSON content type with a body that does not parse is refused, not read as text.
 */
export function parseAlertBody(body: string | Buffer, contentType?: string | null, limits?: ParseLimits): ParseOutcome {
  const maxBytes = limits?.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxBatch = limits?.maxBatch ?? DEFAULT_MAX_BATCH;
  const refuse = (reason: string, format: string | null): ParseOutcome => ({ ok: false, reason, format });

  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  if (size > maxBytes) return refuse(`body is ${size} bytes, over the limit of ${maxBytes}`, null);
  let text: string;
  if (typeof body === 'string') text = body;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      return refuse('body is not UTF-8 text', null);
    }
  }
  text = text.replace(/^\uFEFF/, '').trim();
  if (text === '') return refuse('empty body', null);
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(text)) return refuse('body contains control characters (binary data?)', null);

  // '[LONG] BTCUSDT' is text; '[{…' / '[1' / '[]' is a JSON array.
  const sniffed: AlertFormat | null = /^\[\s*(?:[[{"\]\d-]|true|false|null)/.test(text) ? 'json-array' : text.startsWith('{') ? 'json' : null;
  const placeholders = [...new Set(text.match(PLACEHOLDER) ?? [])];
  if (placeholders.length > 0) {
    const shown = placeholders.slice(0, 8).join(', ') + (placeholders.length > 8 ? ` and ${placeholders.length - 8} more` : '');
    return refuse(`unfilled placeholders ${shown}: the alert template was sent without TradingView filling them in`, sniffed);
  }

  const jsonType = /json/i.test(contentType ?? '');
  if (sniffed || jsonType || JSON_SCALAR.test(text)) {
    const parsed = tryJson(text);
    if (!(parsed instanceof JsonSyntaxError)) return fromJson(parsed, maxBatch);
    if (sniffed || jsonType) {
      const hint = jsonType ? '' : ' (TradingView sends text/plain when the rendered message is not valid JSON)';
      return refuse(`${parsed.message}${hint}`, sniffed ?? 'json');
    }
    // Quoted or numeric text that is not JSON is read as text below.
  }

  const { format, draft } = readText(text);
  const built = buildAlert(draft);
  return built.ok ? { ok: true, alerts: [built.alert], format } : refuse(built.reason, format);
}

function fromJson(parsed: JsonValue, maxBatch: number): ParseOutcome {
  if (parsed instanceof Map) {
    const built = buildAlert(draftOf(parsed));
    return built.ok ? { ok: true, alerts: [built.alert], format: 'json' } : { ok: false, reason: built.reason, format: 'json' };
  }
  if (!Array.isArray(parsed)) return { ok: false, reason: `a JSON body must be an object or an array of objects, not ${describeJson(parsed)}`, format: 'json' };
  const refuse = (reason: string): ParseOutcome => ({ ok: false, reason, format: 'json-array' });
  if (parsed.length === 0) return refuse('empty batch: the JSON array holds no alerts');
  if (parsed.length > maxBatch) return refuse(`batch of ${parsed.length} alerts is over the limit of ${maxBatch}`);
  const alerts: ParsedAlert[] = [];
  for (const [index, element] of parsed.entries()) {
    if (!(element instanceof Map)) return refuse(`alert [${index}] is not a JSON object`);
    const built = buildAlert(draftOf(element));
    if (!built.ok) return refuse(`alert [${index}]: ${built.reason}`);
    alerts.push(built.alert);
  }
  return { ok: true, alerts, format: 'json-array' };
}

function draftOf(object: JsonObject): Draft {
  const fields: Field[] = [];
  flatten(object, '', '', fields);
  return { fields, positional: {}, text: false };
}
