import { Decimal } from 'decimal.js';
import { decimalReason, type Side, type TriggerSpec } from './triggers';

/**
 * How emulated parent orders split into children: TWAP slices, iceberg clips, OCO legs. Pure.
 *
 * Errors: `planTwap`, `nextIcebergClip` and `roundToStep` throw `SlicingError` (a RangeError) with
 * a message fit for the user; `validateTwap` gives the same message without throwing, for input
 * validation. `ocoLegs` returns `{ error }` instead of throwing.
 */

export class SlicingError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'SlicingError';
  }
}

/** Divisions truncate, so flooring a quotient never rounds up past a step it did not reach. */
const Dec = Decimal.clone({ precision: 100, rounding: Decimal.ROUND_DOWN });

export const MAX_TWAP_SLICES = 1000;
/** Without a step, TWAP slices are cut at this many decimals (or the quantity's own, if more). */
export const DEFAULT_QUANTITY_DECIMALS = 8;

function check(reason: string | null): void {
  if (reason) throw new SlicingError(reason);
}

const floorToStep = (quantity: Decimal, step: Decimal): Decimal => quantity.div(step).floor().times(step);

/** Rounds a quantity down to a step size ('0.001'); returns the input when step is null. */
export function roundToStep(quantity: string, step: string | null | undefined): string {
  if (step === null || step === undefined) return quantity;
  check(decimalReason('quantity', quantity, { allowZero: true }) ?? decimalReason('step', step));
  return floorToStep(new Dec(quantity), new Dec(step)).toFixed();
}

export interface TwapInput {
  quantity: string;
  slices: number;
  durationMs: number;
  /** ms since the epoch */
  startAt: number;
  step?: string | null;
}

export interface TwapSlice {
  index: number;
  at: number;
  quantity: string;
}

function twapPlan(input: TwapInput): TwapSlice[] | string {
  const { quantity, slices, durationMs, startAt, step } = input;
  const reason =
    decimalReason('quantity', quantity) ??
    (step === null || step === undefined ? null : decimalReason('step', step)) ??
    (Number.isInteger(slices) && slices >= 1 && slices <= MAX_TWAP_SLICES ? null : `slices must be a whole number from 1 to ${MAX_TWAP_SLICES}`) ??
    (Number.isSafeInteger(durationMs) && durationMs >= 0 ? null : 'durationMs must be a whole number of milliseconds, 0 or more') ??
    (Number.isSafeInteger(startAt) ? null : 'startAt must be a whole number of milliseconds since the epoch');
  if (reason) return reason;
  if (!Number.isSafeInteger(durationMs * slices)) return 'durationMs is too large';

  const total = new Dec(quantity);
  const decimals = Math.max(DEFAULT_QUANTITY_DECIMALS, (quantity.split('.')[1] ?? '').length);
  const unit = step === null || step === undefined ? new Dec(10).pow(-decimals) : new Dec(step);
  const each = floorToStep(total.div(slices), unit);
  if (each.isZero()) {
    return `quantity ${quantity} is too small for ${slices} slices: each slice would round down to 0 (step ${unit.toFixed()})`;
  }
  const last = total.minus(each.times(slices - 1));
  return Array.from({ length: slices }, (_, index) => ({
    index,
    at: startAt + Math.floor((index * durationMs) / slices),
    quantity: (index === slices - 1 ? last : each).toFixed(),
  }));
}

/** Why `planTwap` would refuse the input, or null. */
export function validateTwap(input: TwapInput): string | null {
  const plan = twapPlan(input);
  return typeof plan === 'string' ? plan : null;
}

/**
 * TWAP: `slices` child quantities summing exactly to `quantity`, each rounded down to `step` (or to
 * DEFAULT_QUANTITY_DECIMALS decimals without one) with the remainder on the last slice, so the last
 * is on the step whenever the quantity is. Slice i runs at startAt + floor(i × durationMs / slices):
 * the first at startAt, one every durationMs/slices, the window ending one interval after the last.
 * Throws SlicingError on bad input or when a slice would round down to 0.
 */
export function planTwap(input: TwapInput): TwapSlice[] {
  const plan = twapPlan(input);
  if (typeof plan === 'string') throw new SlicingError(plan);
  return plan;
}

/**
 * Iceberg: next visible clip = min(visible, total − filled), rounded down to step; '0' when done.
 * A remainder smaller than one step cannot be placed and also counts as done. Throws SlicingError
 * on bad input, including a visible quantity below one step (it could never show anything).
 */
export function nextIcebergClip(input: { total: string; visible: string; filled: string; step?: string | null }): string {
  const { total, visible, filled, step } = input;
  check(
    decimalReason('total', total) ??
      decimalReason('visible', visible) ??
      decimalReason('filled', filled, { allowZero: true }) ??
      (step === null || step === undefined ? null : decimalReason('step', step)),
  );
  const stepSize = step === null || step === undefined ? null : new Dec(step);
  const shown = new Dec(visible);
  if (stepSize && floorToStep(shown, stepSize).isZero()) throw new SlicingError(`visible ${visible} is smaller than one step (${step})`);
  const remaining = new Dec(total).minus(filled);
  if (remaining.lte(0)) return '0';
  const clip = Dec.min(shown, remaining);
  return (stepSize ? floorToStep(clip, stepSize) : clip).toFixed();
}

export type OcoRole = 'TAKE_PROFIT' | 'STOP_LOSS';

export interface OcoLeg {
  role: OcoRole;
  spec: TriggerSpec;
  quantity: string;
}

/**
 * OCO: the exit legs of a filled parent. Parent BUY -> SELL legs: TAKE_PROFIT at takeProfit (which
 * must be above the entry), STOP_MARKET at stopLoss (below the entry); parent SELL mirrored. Either
 * leg may be absent (no legs when neither is given). Returns `{ error }` on bad input.
 */
export function ocoLegs(input: {
  parentSide: Side;
  quantity: string;
  entryPrice: string;
  takeProfit?: string | null;
  stopLoss?: string | null;
}): { legs: OcoLeg[] } | { error: string } {
  const { parentSide, quantity, entryPrice, takeProfit, stopLoss } = input;
  if (parentSide !== 'BUY' && parentSide !== 'SELL') return { error: 'parentSide must be BUY or SELL' };
  const hasTakeProfit = takeProfit !== null && takeProfit !== undefined;
  const hasStopLoss = stopLoss !== null && stopLoss !== undefined;
  const reason =
    decimalReason('quantity', quantity) ??
    decimalReason('entryPrice', entryPrice) ??
    (hasTakeProfit ? decimalReason('takeProfit', takeProfit) : null) ??
    (hasStopLoss ? decimalReason('stopLoss', stopLoss) : null);
  if (reason) return { error: reason };

  const entry = new Dec(entryPrice);
  const buy = parentSide === 'BUY';
  const exit: Side = buy ? 'SELL' : 'BUY';
  const legs: OcoLeg[] = [];
  if (hasTakeProfit) {
    if (buy ? !entry.lt(takeProfit) : !entry.gt(takeProfit)) {
      return { error: `takeProfit must be ${buy ? 'above' : 'below'} the entry price ${entryPrice} for a ${parentSide} order` };
    }
    legs.push({ role: 'TAKE_PROFIT', spec: { type: 'TAKE_PROFIT', side: exit, triggerPrice: takeProfit }, quantity });
  }
  if (hasStopLoss) {
    if (buy ? !entry.gt(stopLoss) : !entry.lt(stopLoss)) {
      return { error: `stopLoss must be ${buy ? 'below' : 'above'} the entry price ${entryPrice} for a ${parentSide} order` };
    }
    legs.push({ role: 'STOP_LOSS', spec: { type: 'STOP_MARKET', side: exit, stopPrice: stopLoss }, quantity });
  }
  return { legs };
}
