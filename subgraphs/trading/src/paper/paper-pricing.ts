import { Decimal, type DecimalValue } from '../shared/decimal';

/**
 * The paper exchange's price and fee rules. Pure, decimal strings in and out:
 * - a taker fill (market order, marketable limit, fired stop) happens at the last price moved
 *   `slippageBps` against the trader (BUY pays more, SELL gets less), rounded to the instrument's
 *   tick against the trader too, and never beyond a limit price;
 * - a resting limit fills at its own price (maker) when the feed crosses it;
 * - the fee is `feeRate` × the quote notional, rounded up to 10 decimals, charged in the quote asset.
 */

export interface PaperTerms {
  /** A fraction: 0.001 is 0.1 %. */
  feeRate: string;
  slippageBps: string;
}

const BPS = new Decimal(10_000);
/** Fees and reservations keep this many decimals (rounded up, so they always cover the fill). */
export const AMOUNT_DECIMALS = 10;

export function takerPrice(side: 'BUY' | 'SELL', last: DecimalValue, slippageBps: DecimalValue, priceDecimals: number, limit?: string | null): Decimal {
  const factor = new Decimal(1)[side === 'BUY' ? 'plus' : 'minus'](new Decimal(slippageBps).div(BPS));
  let price = new Decimal(last).times(factor).toDecimalPlaces(priceDecimals, side === 'BUY' ? Decimal.ROUND_UP : Decimal.ROUND_DOWN);
  if (limit !== undefined && limit !== null) price = side === 'BUY' ? Decimal.min(price, limit) : Decimal.max(price, limit);
  // A price rounded down to zero (a sub-tick instrument) would be no price at all.
  const tick = new Decimal(10).pow(-priceDecimals);
  return price.lessThan(tick) ? tick : price;
}

export function feeFor(notional: DecimalValue, feeRate: DecimalValue): Decimal {
  return new Decimal(notional).times(feeRate).toDecimalPlaces(AMOUNT_DECIMALS, Decimal.ROUND_UP);
}

/** What a BUY of `quantity` at `price` costs in the quote asset, fee included. */
export function buyCost(quantity: DecimalValue, price: DecimalValue, feeRate: DecimalValue): Decimal {
  const notional = new Decimal(quantity).times(price);
  return notional.plus(feeFor(notional, feeRate));
}

/** Price moved `slippageBps` against a buyer: the reference for reserving a BUY that fills later at market. */
export function withSlippage(price: DecimalValue, slippageBps: DecimalValue): Decimal {
  return new Decimal(price).times(new Decimal(1).plus(new Decimal(slippageBps).div(BPS)));
}
