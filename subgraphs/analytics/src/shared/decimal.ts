import { Decimal } from 'decimal.js';

/**
 * decimal.js exact for what trading sends: quantities and prices of up to 48 significant digits
 * (30 before the point, 18 after), so a product of two never rounds. Never JS floats.
 */
export const Dec = Decimal.clone({ precision: 100, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -120, toExpPos: 120 });
export type Dec = InstanceType<typeof Dec>;

/** Plain notation without trailing zeros (Postgres NUMERIC sums keep them). */
export const plainDecimal = (value: string | Dec): string => {
  const decimal = new Dec(value);
  return decimal.isZero() ? '0' : decimal.toFixed();
};
