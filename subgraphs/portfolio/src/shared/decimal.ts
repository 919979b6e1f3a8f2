import { Decimal } from 'decimal.js';

/**
 * decimal.js with room for crypto amounts: 50 significant digits, banker's rounding. Every price,
 * quantity and value in this subgraph is one of these or a decimal string, never a JS float.
 */
export const Dec = Decimal.clone({ precision: 50, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -60, toExpPos: 60 });
export type Dec = InstanceType<typeof Dec>;

/** Decimals kept in stored figures (cost basis after a partial sell is a quotient). */
export const STORED_DECIMALS = 18;
/** Decimals of values shown in the quote currency (costs, values, PnL, fees, average cost). */
export const VALUE_DECIMALS = 8;

/** A plain non-negative decimal string: digits, optionally a point and up to 18 decimals. */
export const DECIMAL_PATTERN = /^\d{1,30}(\.\d{1,18})?$/;

export const ZERO = new Dec(0);

export const isDecimalString = (value: unknown): value is string => typeof value === 'string' && DECIMAL_PATTERN.test(value);

/** What is stored: at most 18 decimals, plain notation. */
export const stored = (value: Dec): string => plain(value.toDecimalPlaces(STORED_DECIMALS));

/** What the API shows for a value in the quote currency: 8 decimals at most, plain notation, no trailing zeros. */
export const money = (value: Dec): string => plain(value.toDecimalPlaces(VALUE_DECIMALS));

/** Plain notation without trailing zeros, and never "-0". */
export function plain(value: Dec): string {
  return value.isZero() ? '0' : value.toFixed();
}

/** Sums decimal values. */
export const sum = (values: readonly Dec[]): Dec => values.reduce((total, value) => total.plus(value), ZERO);
