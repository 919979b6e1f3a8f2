import { Dec, STORED_DECIMALS, ZERO } from '../shared/decimal';

/**
 * Weighted-average cost accounting of one asset, from its fills (pure; no I/O).
 *
 * A fill trades `quantity` base at `price` quote. Its fee is either in the base currency or valued
 * in the quote currency (`feeValue`: the fee itself when paid in a quote stablecoin, the fee times
 * its price otherwise; for a base fee, the fee times the fill price):
 *
 *   BUY,  fee in base:   base in  = quantity − fee    quote out = quantity × price
 *   BUY,  other fee:     base in  = quantity          quote out = quantity × price + feeValue
 *   SELL, fee in base:   base out = quantity + fee    quote in  = quantity × price
 *   SELL, other fee:     base out = quantity          quote in  = quantity × price − feeValue
 *
 * A buy adds `base in` to the quantity and `quote out` to the cost basis (so the average cost,
 * cost basis ÷ quantity, includes buy fees). A sell removes `base out` at the average cost and
 * realizes `quote in − average cost × base out`, which is `(sell price − average cost) × base out −
 * fee value`: realized PnL is after every fee. Selling the whole quantity removes the whole cost
 * basis. Base sold beyond the known quantity (a deposit we never saw) counts as bought at the sell
 * price: it realizes nothing and leaves the quantity at zero.
 *
 * `netInvested` is quote paid minus quote received, so for every portfolio
 * `market value − net invested = realized PnL + unrealized PnL`.
 */

export type Side = 'BUY' | 'SELL';

export interface FillInput {
  fillId: string;
  side: Side;
  quantity: string;
  price: string;
  fee: string;
  /** True when the fee was paid in the base currency (it changes the quantity, not the quote flow). */
  feeInBase: boolean;
  /** The fee in the quote currency. */
  feeValue: string;
  executedAt: Date;
}

export interface Position {
  quantity: Dec;
  costBasis: Dec;
  realizedPnl: Dec;
  fees: Dec;
  netInvested: Dec;
  fillCount: number;
}

export const EMPTY_POSITION: Position = { quantity: ZERO, costBasis: ZERO, realizedPnl: ZERO, fees: ZERO, netInvested: ZERO, fillCount: 0 };

const round = (value: Dec): Dec => value.toDecimalPlaces(STORED_DECIMALS);

/** Base and quote moved by a fill, fees included (see the table above). */
export function flowsOf(fill: FillInput): { base: Dec; quote: Dec; feeValue: Dec } {
  const quantity = new Dec(fill.quantity);
  const fee = new Dec(fill.fee);
  const feeValue = new Dec(fill.feeValue);
  const notional = quantity.times(fill.price);
  if (fill.side === 'BUY') {
    return fill.feeInBase ? { base: quantity.minus(fee), quote: notional, feeValue } : { base: quantity, quote: notional.plus(feeValue), feeValue };
  }
  return fill.feeInBase ? { base: quantity.plus(fee), quote: notional, feeValue } : { base: quantity, quote: notional.minus(feeValue), feeValue };
}

/** The position after `fill`. */
export function applyFill(position: Position, fill: FillInput): Position {
  const { base, quote, feeValue } = flowsOf(fill);
  const fees = position.fees.plus(feeValue);
  const fillCount = position.fillCount + 1;
  if (fill.side === 'BUY') {
    return {
      quantity: position.quantity.plus(base),
      costBasis: round(position.costBasis.plus(quote)),
      realizedPnl: position.realizedPnl,
      fees: round(fees),
      netInvested: round(position.netInvested.plus(quote)),
      fillCount,
    };
  }
  const known = Dec.min(base, position.quantity);
  const excess = base.minus(known);
  const removed = known.eq(position.quantity) ? position.costBasis : round(position.costBasis.times(known).div(position.quantity));
  // Unknown units are taken as bought at the sell price: no profit or loss on them.
  const excessCost = excess.times(fill.price);
  return {
    quantity: position.quantity.minus(known),
    costBasis: position.costBasis.minus(removed),
    realizedPnl: round(position.realizedPnl.plus(quote).minus(removed).minus(excessCost)),
    fees: round(fees),
    netInvested: round(position.netInvested.plus(excessCost).minus(quote)),
    fillCount,
  };
}

/** Fills in execution order: by time, then fill id (the order the ledger replays them in). */
export function compareFills(a: Pick<FillInput, 'executedAt' | 'fillId'>, b: Pick<FillInput, 'executedAt' | 'fillId'>): number {
  const byTime = a.executedAt.getTime() - b.executedAt.getTime();
  if (byTime !== 0) return byTime;
  return a.fillId < b.fillId ? -1 : a.fillId > b.fillId ? 1 : 0;
}

/** The position from every fill of an asset, applied in execution order whatever order they arrived in. */
export function replayFills(fills: readonly FillInput[]): Position {
  return [...fills].sort(compareFills).reduce(applyFill, EMPTY_POSITION);
}

/** The average cost per unit, or null for an empty position. */
export function averageCost(position: Pick<Position, 'quantity' | 'costBasis'>): Dec | null {
  return position.quantity.isZero() ? null : position.costBasis.div(position.quantity);
}
