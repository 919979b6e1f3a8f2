import Decimal from 'decimal.js';

/**
 * Take-profit and stop-loss come as prices (`68000.5`) or as distances from the entry price in
 * percent (`2.5%`): in an alert, or as the endpoint's defaults. A signal stores prices; a percent
 * becomes one against the alert's price, so a signal without a price keeps no percent level.
 */
export const LEVEL_PATTERN = /^\d{1,20}(\.\d{1,18})?%?$/;

export type LevelSpec = { kind: 'price'; value: Decimal } | { kind: 'percent'; value: Decimal };

/** A level as written, or null for nothing usable (empty, zero, negative or not a number). */
export function parseLevel(text: string | number | null | undefined): LevelSpec | null {
  if (text === null || text === undefined) return null;
  const trimmed = String(text).trim();
  if (!LEVEL_PATTERN.test(trimmed)) return null;
  const percent = trimmed.endsWith('%');
  const value = new Decimal(percent ? trimmed.slice(0, -1) : trimmed);
  if (value.lte(0) || (percent && value.gte(100))) return null;
  return percent ? { kind: 'percent', value } : { kind: 'price', value };
}

export type Side = 'takeProfit' | 'stopLoss';

/** The price a level stands for on a BUY or SELL entered at `entry` (null when it cannot be known). */
export function levelPrice(spec: LevelSpec | null, side: Side, action: string, entry: string | null): string | null {
  if (!spec) return null;
  if (spec.kind === 'price') return spec.value.toString();
  if (entry === null || (action !== 'BUY' && action !== 'SELL')) return null;
  // A BUY wins above the entry and loses below it; a SELL the other way round.
  const up = (side === 'takeProfit') === (action === 'BUY');
  const factor = up ? new Decimal(100).plus(spec.value) : new Decimal(100).minus(spec.value);
  return new Decimal(entry).times(factor).dividedBy(100).toSignificantDigits(18).toString();
}

/** The levels an open BUY or SELL is judged by; null when they cannot make sense (e.g. a BUY's take-profit below its entry). */
export interface Watch {
  id: string;
  userId: string;
  symbol: string;
  action: 'BUY' | 'SELL';
  entry: string;
  takeProfit: string;
  stopLoss: string;
}

export function watchOf(signal: { id: string; userId: string; symbol: string | null; action: string; price: string | null; takeProfit: string | null; stopLoss: string | null }): Watch | null {
  const { symbol, action, price, takeProfit, stopLoss } = signal;
  if (!symbol || !price || !takeProfit || !stopLoss || (action !== 'BUY' && action !== 'SELL')) return null;
  const entry = new Decimal(price);
  const ordered = action === 'BUY' ? entry.lt(takeProfit) && entry.gt(stopLoss) : entry.gt(takeProfit) && entry.lt(stopLoss);
  return ordered ? { id: signal.id, userId: signal.userId, symbol, action, entry: price, takeProfit, stopLoss } : null;
}

export type Outcome = { result: 'WIN' | 'LOSS'; exitPrice: string; profitLoss: string };

/**
 * What a price does to an open signal: the first price at or beyond the take-profit wins, at or
 * beyond the stop-loss loses. The exit is the observed price (a gap past a level fills there, not at
 * the level); profitLoss is the percent move in the signal's favour, to four decimals.
 */
export function judge(watch: Watch, price: string): Outcome | null {
  const last = new Decimal(price);
  const buy = watch.action === 'BUY';
  const win = buy ? last.gte(watch.takeProfit) : last.lte(watch.takeProfit);
  const loss = buy ? last.lte(watch.stopLoss) : last.gte(watch.stopLoss);
  if (!win && !loss) return null;
  const entry = new Decimal(watch.entry);
  const move = buy ? last.minus(entry) : entry.minus(last);
  return { result: win ? 'WIN' : 'LOSS', exitPrice: last.toString(), profitLoss: move.dividedBy(entry).times(100).toDecimalPlaces(4).toString() };
}
