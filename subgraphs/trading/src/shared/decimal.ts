import { Decimal as DecimalJs } from 'decimal.js';

/** decimal.js with 50 significant digits, so notional × fee rate and averages never round in the middle. */
export const Decimal = DecimalJs.clone({ precision: 50, rounding: DecimalJs.ROUND_HALF_EVEN });
export type Decimal = DecimalJs;
export type DecimalValue = DecimalJs.Value;

/** A decimal as the API shows it: plain notation, no trailing zeros (Postgres numeric keeps its scale). */
export function plain(value: DecimalValue): string {
  const text = new Decimal(value).toFixed();
  if (!text.includes('.')) return text;
  const trimmed = text.replace(/0+$/, '');
  return trimmed.endsWith('.') ? trimmed.slice(0, -1) : trimmed;
}

/** `plain`, or null for null. */
export const plainOrNull = (value: DecimalValue | null | undefined): string | null => (value === null || value === undefined ? null : plain(value));

/** Decimal places of a decimal string as the client wrote it (`1.50` has two). */
export function decimalPlaces(text: string): number {
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

/** A positive decimal string such as `0.5` or `67250.10`: no sign, no exponent, at most 30 digits. */
export const POSITIVE_DECIMAL = /^(?=.*[1-9])\d{1,20}(\.\d{1,18})?$/;
