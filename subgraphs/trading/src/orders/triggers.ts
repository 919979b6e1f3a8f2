import { Decimal } from 'decimal.js';

/**
 * Trigger logic of the order types our engine emulates when an exchange lacks them. Pure: no I/O,
 * state in and state out. Prices are decimal strings computed with decimal.js, never floats.
 *
 * Edge cases, decided once for every type:
 * - Touching a level fires: BUY stop at price >= stop, SELL stop at price <= stop, take-profit and
 *   limit likewise inclusive. A trailing stop fires when the price reaches its stop (inclusive).
 * - An order whose level is already crossed fires on the first price it sees (the engine decides
 *   whether to refuse such orders up front; see `triggerLevel`).
 * - Trailing stops never loosen: the extreme only moves in the order's favour and the stop is
 *   ratcheted, never moved back. The price that activates one becomes its first extreme. A SELL
 *   trailing amount at or above the extreme gives a stop <= 0, which cannot fire until the high rises.
 */

export type Side = 'BUY' | 'SELL';

export type TriggerSpec =
  | { type: 'LIMIT'; side: Side; limitPrice: string }
  | { type: 'STOP_MARKET'; side: Side; stopPrice: string }
  | { type: 'STOP_LIMIT'; side: Side; stopPrice: string; limitPrice: string }
  | { type: 'TAKE_PROFIT'; side: Side; triggerPrice: string; limitPrice?: string }
  | { type: 'TRAILING_STOP'; side: Side; trailingPercent?: string; trailingAmount?: string; activationPrice?: string };

/**
 * What the engine persists between prices. `extreme`: best price seen by an active trailing stop
 * (highest for SELL, lowest for BUY). `activated`: false only for a trailing stop still waiting for
 * its activation price. `stopPrice`: the current stop (trailing) or the fixed trigger (stops,
 * take-profit); null for LIMIT and for a trailing stop that has not seen a price yet.
 */
export interface TriggerState {
  extreme: string | null;
  activated: boolean;
  stopPrice: string | null;
}

export type TriggerFire = { kind: 'MARKET'; stopPrice: string | null } | { kind: 'LIMIT'; limitPrice: string; stopPrice: string | null };

/** 'UP': fires once price >= level; 'DOWN': once price <= level. */
export type TriggerDirection = 'UP' | 'DOWN';

/** Enough digits that a trailing stop (extreme × (1 − pct/100)) stays exact for any sane input. */
const Dec = Decimal.clone({ precision: 100, rounding: Decimal.ROUND_HALF_EVEN });

const DECIMAL_TEXT = /^\d+(?:\.\d+)?$/;
const MAX_DECIMAL_LENGTH = 40;

/** Why `value` is not a plain non-negative decimal string (positive unless `allowZero`), or null. */
export function decimalReason(name: string, value: unknown, options: { allowZero?: boolean } = {}): string | null {
  if (typeof value !== 'string' || value.length > MAX_DECIMAL_LENGTH || !DECIMAL_TEXT.test(value)) {
    return `${name} must be a decimal string such as "123.45"`;
  }
  if (!options.allowZero && new Dec(value).isZero()) return `${name} must be greater than 0`;
  return null;
}

const present = (value: string | null | undefined): value is string => value !== undefined && value !== null;

/** Human reason why the spec cannot be used, or null when it is valid. */
export function validateTriggerSpec(spec: TriggerSpec): string | null {
  if (spec.side !== 'BUY' && spec.side !== 'SELL') return 'side must be BUY or SELL';
  switch (spec.type) {
    case 'LIMIT':
      return decimalReason('limitPrice', spec.limitPrice);
    case 'STOP_MARKET':
      return decimalReason('stopPrice', spec.stopPrice);
    case 'STOP_LIMIT':
      return decimalReason('stopPrice', spec.stopPrice) ?? decimalReason('limitPrice', spec.limitPrice);
    case 'TAKE_PROFIT':
      return decimalReason('triggerPrice', spec.triggerPrice) ?? (present(spec.limitPrice) ? decimalReason('limitPrice', spec.limitPrice) : null);
    case 'TRAILING_STOP': {
      const hasPercent = present(spec.trailingPercent);
      if (hasPercent === present(spec.trailingAmount)) return 'exactly one of trailingPercent and trailingAmount is required';
      if (hasPercent) {
        const reason = decimalReason('trailingPercent', spec.trailingPercent);
        if (reason) return reason;
        if (new Dec(spec.trailingPercent!).gte(100)) return 'trailingPercent must be below 100';
      } else {
        const reason = decimalReason('trailingAmount', spec.trailingAmount);
        if (reason) return reason;
      }
      return present(spec.activationPrice) ? decimalReason('activationPrice', spec.activationPrice) : null;
    }
    default:
      return `unknown trigger type ${String((spec as { type: unknown }).type)}`;
  }
}

/** BUY fills at or below its limit, SELL at or above. */
export function limitIsMarketable(side: Side, limitPrice: string, price: string): boolean {
  const cmp = new Dec(price).cmp(limitPrice);
  return side === 'BUY' ? cmp <= 0 : cmp >= 0;
}

type LevelSpec = Exclude<TriggerSpec, { type: 'TRAILING_STOP' }>;

/**
 * The fixed level of every type except TRAILING_STOP (null), and the way the price must move to
 * reach it. The engine can use it to tell an order that would fire at once.
 */
export function triggerLevel(spec: TriggerSpec): { level: string; direction: TriggerDirection } | null {
  switch (spec.type) {
    case 'LIMIT':
      return { level: spec.limitPrice, direction: spec.side === 'BUY' ? 'DOWN' : 'UP' };
    case 'STOP_MARKET':
    case 'STOP_LIMIT':
      return { level: spec.stopPrice, direction: spec.side === 'BUY' ? 'UP' : 'DOWN' };
    case 'TAKE_PROFIT':
      return { level: spec.triggerPrice, direction: spec.side === 'SELL' ? 'UP' : 'DOWN' };
    case 'TRAILING_STOP':
      return null;
  }
}

function fireOf(spec: LevelSpec): TriggerFire {
  switch (spec.type) {
    case 'LIMIT':
      return { kind: 'LIMIT', limitPrice: spec.limitPrice, stopPrice: null };
    case 'STOP_MARKET':
      return { kind: 'MARKET', stopPrice: spec.stopPrice };
    case 'STOP_LIMIT':
      return { kind: 'LIMIT', limitPrice: spec.limitPrice, stopPrice: spec.stopPrice };
    case 'TAKE_PROFIT':
      return present(spec.limitPrice)
        ? { kind: 'LIMIT', limitPrice: spec.limitPrice, stopPrice: spec.triggerPrice }
        : { kind: 'MARKET', stopPrice: spec.triggerPrice };
  }
}

const crosses = (direction: TriggerDirection, level: Decimal, price: Decimal): boolean => (direction === 'UP' ? price.gte(level) : price.lte(level));

/** A trailing spec parsed once (the book keeps it per order so a tick parses nothing). */
interface TrailingRule {
  sell: boolean;
  /** 1 − pct/100 (SELL) or 1 + pct/100 (BUY); null when trailing by amount. */
  factor: Decimal | null;
  amount: Decimal | null;
  activation: Decimal | null;
}

interface TrailingCore {
  extreme: Decimal | null;
  activated: boolean;
  stop: Decimal | null;
}

function trailingRule(spec: Extract<TriggerSpec, { type: 'TRAILING_STOP' }>): TrailingRule {
  const sell = spec.side === 'SELL';
  const percent = present(spec.trailingPercent) ? new Dec(spec.trailingPercent).div(100) : null;
  return {
    sell,
    factor: percent ? (sell ? new Dec(1).minus(percent) : new Dec(1).plus(percent)) : null,
    amount: present(spec.trailingAmount) ? new Dec(spec.trailingAmount) : null,
    activation: present(spec.activationPrice) ? new Dec(spec.activationPrice) : null,
  };
}

function stopFrom(rule: TrailingRule, extreme: Decimal): Decimal {
  if (rule.factor) return extreme.times(rule.factor);
  return rule.sell ? extreme.minus(rule.amount!) : extreme.plus(rule.amount!);
}

/** Tighter of two stops: higher for SELL, lower for BUY. */
const tighter = (rule: TrailingRule, a: Decimal, b: Decimal): Decimal => (rule.sell ? Dec.max(a, b) : Dec.min(a, b));

/** One price through a trailing stop. `changed` is false when `core` is returned as is. */
function stepTrailing(rule: TrailingRule, core: TrailingCore, price: Decimal): { core: TrailingCore; changed: boolean; fire: boolean } {
  if (!core.activated && rule.activation && (rule.sell ? price.lt(rule.activation) : price.gt(rule.activation))) {
    return { core, changed: false, fire: false };
  }
  let { extreme, stop } = core;
  if (extreme === null || (rule.sell ? price.gt(extreme) : price.lt(extreme))) extreme = price;
  if (extreme !== core.extreme || stop === null) {
    const next = stopFrom(rule, extreme);
    stop = stop === null ? next : tighter(rule, stop, next);
  }
  const changed = !core.activated || extreme !== core.extreme || stop !== core.stop;
  const next = changed ? { extreme, activated: true, stop } : core;
  return { core: next, changed, fire: rule.sell ? price.lte(stop) : price.gte(stop) };
}

const coreOf = (state: TriggerState): TrailingCore => ({
  extreme: state.extreme === null ? null : new Dec(state.extreme),
  activated: state.activated,
  stop: state.stopPrice === null ? null : new Dec(state.stopPrice),
});

const stateOf = (core: TrailingCore): TriggerState => ({
  extreme: core.extreme === null ? null : core.extreme.toFixed(),
  activated: core.activated,
  stopPrice: core.stop === null ? null : core.stop.toFixed(),
});

function parsePrice(price: string): Decimal {
  const reason = decimalReason('price', price);
  if (reason) throw new RangeError(reason);
  return new Dec(price);
}

function assertValid(spec: TriggerSpec): void {
  const reason = validateTriggerSpec(spec);
  if (reason) throw new RangeError(`invalid trigger: ${reason}`);
}

/**
 * State of a new order, given the current price if known. A trailing stop without activation price
 * (or whose activation price the current price already reached) starts active at that price.
 */
export function initialTriggerState(spec: TriggerSpec, price: string | null): TriggerState {
  assertValid(spec);
  if (spec.type !== 'TRAILING_STOP') {
    const level = spec.type === 'LIMIT' ? null : triggerLevel(spec)!.level;
    return { extreme: null, activated: true, stopPrice: level };
  }
  const rule = trailingRule(spec);
  const waiting: TrailingCore = { extreme: null, activated: rule.activation === null, stop: null };
  if (price === null) return stateOf(waiting);
  return stateOf(stepTrailing(rule, waiting, parsePrice(price)).core);
}

/**
 * Applies one price. Returns the next state (the same object when nothing changed) and the fire,
 * if the order triggers at this price.
 */
export function onPrice(spec: TriggerSpec, state: TriggerState, price: string): { state: TriggerState; fire: TriggerFire | null } {
  const p = parsePrice(price);
  if (spec.type === 'TRAILING_STOP') {
    const step = stepTrailing(trailingRule(spec), coreOf(state), p);
    const next = step.changed ? stateOf(step.core) : state;
    return { state: next, fire: step.fire ? { kind: 'MARKET', stopPrice: next.stopPrice } : null };
  }
  const { level, direction } = triggerLevel(spec)!;
  return { state, fire: crosses(direction, new Dec(level), p) ? fireOf(spec) : null };
}

interface LevelEntry {
  orderId: string;
  level: Decimal;
  spec: LevelSpec;
  state: TriggerState;
}

interface TrailingEntry {
  orderId: string;
  rule: TrailingRule;
  core: TrailingCore;
  state: TriggerState;
}

interface SymbolBook {
  /** Fire once price >= level; ascending, so a tick fires a prefix. Equal levels in insertion order. */
  up: LevelEntry[];
  /** Fire once price <= level; ascending, so a tick fires a suffix. Equal levels newest first. */
  down: LevelEntry[];
  trailing: Map<string, TrailingEntry>;
}

type Located = { symbol: string; kind: 'UP' | 'DOWN'; entry: LevelEntry } | { symbol: string; kind: 'TRAILING'; entry: TrailingEntry };

/** First index whose level is >= price (`strict`: > price). */
function bound(entries: readonly LevelEntry[], price: Decimal, strict: boolean): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const cmp = entries[mid]!.level.cmp(price);
    if (cmp < 0 || (strict && cmp === 0)) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Per-symbol index so one tick only touches orders it may fire: fixed levels kept in sorted arrays
 * and found by binary search on the crossing side (O(log n + fired)); trailing stops move with
 * every price, so each one on the symbol is stepped on each tick (pre-parsed, no string work
 * unless its state changes).
 *
 * Fired orders are listed in the order the price path reached them: rising levels lowest first,
 * falling levels highest first, equal levels in the order they were added; then trailing stops.
 */
export class TriggerBook {
  private readonly books = new Map<string, SymbolBook>();
  private readonly orders = new Map<string, Located>();

  /** Adds an order (replacing any with the same id). Throws RangeError on an invalid spec. */
  add(orderId: string, symbol: string, spec: TriggerSpec, state: TriggerState): void {
    assertValid(spec);
    this.remove(orderId);
    let book = this.books.get(symbol);
    if (!book) {
      book = { up: [], down: [], trailing: new Map() };
      this.books.set(symbol, book);
    }
    if (spec.type === 'TRAILING_STOP') {
      const entry: TrailingEntry = { orderId, rule: trailingRule(spec), core: coreOf(state), state };
      book.trailing.set(orderId, entry);
      this.orders.set(orderId, { symbol, kind: 'TRAILING', entry });
      return;
    }
    const { level, direction } = triggerLevel(spec)!;
    const entry: LevelEntry = { orderId, level: new Dec(level), spec, state };
    const list = direction === 'UP' ? book.up : book.down;
    list.splice(bound(list, entry.level, direction === 'UP'), 0, entry);
    this.orders.set(orderId, { symbol, kind: direction, entry });
  }

  remove(orderId: string): boolean {
    const located = this.orders.get(orderId);
    if (!located) return false;
    this.orders.delete(orderId);
    const book = this.books.get(located.symbol)!;
    if (located.kind === 'TRAILING') {
      book.trailing.delete(orderId);
    } else {
      const list = located.kind === 'UP' ? book.up : book.down;
      const end = bound(list, located.entry.level, true);
      for (let i = bound(list, located.entry.level, false); i < end; i += 1) {
        if (list[i] === located.entry) {
          list.splice(i, 1);
          break;
        }
      }
    }
    this.dropIfEmpty(located.symbol, book);
    return true;
  }

  has(orderId: string): boolean {
    return this.orders.has(orderId);
  }

  get size(): number {
    return this.orders.size;
  }

  /**
   * Applies one price: returns every order that fires (removed from the book) with its fire and
   * final state, and the trailing orders whose state changed (so the engine can persist extreme/stop).
   */
  onPrice(symbol: string, price: string): { fired: { orderId: string; fire: TriggerFire; state: TriggerState }[]; updated: { orderId: string; state: TriggerState }[] } {
    const fired: { orderId: string; fire: TriggerFire; state: TriggerState }[] = [];
    const updated: { orderId: string; state: TriggerState }[] = [];
    const book = this.books.get(symbol);
    if (!book) return { fired, updated };
    const p = parsePrice(price);

    const upEnd = bound(book.up, p, true);
    if (upEnd > 0) {
      for (const entry of book.up.splice(0, upEnd)) this.fireLevel(entry, fired);
    }
    const downStart = bound(book.down, p, false);
    if (downStart < book.down.length) {
      const crossed = book.down.splice(downStart);
      for (let i = crossed.length - 1; i >= 0; i -= 1) this.fireLevel(crossed[i]!, fired);
    }
    for (const entry of book.trailing.values()) {
      const step = stepTrailing(entry.rule, entry.core, p);
      if (step.changed) {
        entry.core = step.core;
        entry.state = stateOf(step.core);
      }
      if (step.fire) {
        book.trailing.delete(entry.orderId);
        this.orders.delete(entry.orderId);
        fired.push({ orderId: entry.orderId, fire: { kind: 'MARKET', stopPrice: entry.state.stopPrice }, state: entry.state });
      } else if (step.changed) {
        updated.push({ orderId: entry.orderId, state: entry.state });
      }
    }
    this.dropIfEmpty(symbol, book);
    return { fired, updated };
  }

  private fireLevel(entry: LevelEntry, fired: { orderId: string; fire: TriggerFire; state: TriggerState }[]): void {
    this.orders.delete(entry.orderId);
    fired.push({ orderId: entry.orderId, fire: fireOf(entry.spec), state: entry.state });
  }

  private dropIfEmpty(symbol: string, book: SymbolBook): void {
    if (book.up.length === 0 && book.down.length === 0 && book.trailing.size === 0) this.books.delete(symbol);
  }
}
