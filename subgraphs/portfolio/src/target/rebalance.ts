import { Dec, sum, VALUE_DECIMALS, ZERO } from '../shared/decimal';
import type { Side } from '../holding/cost-basis';

/** Decimals of an order quantity (lot sizes are the exchange's business; it rounds further). */
export const QUANTITY_DECIMALS = 8;

export interface PlanHolding {
  asset: string;
  symbol: string;
  quantity: Dec;
  /** Null while no price is known. */
  price: Dec | null;
  /** What the holding counts for in the total (its market value, or its cost basis without a price). */
  value: Dec;
}

export interface PlanTarget {
  asset: string;
  /** A fraction; all of a portfolio's sum to 1. */
  weight: Dec;
}

export interface PlanInput {
  /** The reporting quote currency: a target of it is the share kept in cash (no order). */
  quote: string;
  /** Other quote stablecoins, also cash. */
  cashAssets: readonly string[];
  holdings: readonly PlanHolding[];
  targets: readonly PlanTarget[];
  /** Prices of targeted assets not held, by asset (the symbol is ASSET/QUOTE). */
  prices: ReadonlyMap<string, Dec>;
  /** Orders below this notional (quote) are left out. */
  minNotional: Dec;
}

export interface PlannedOrder {
  asset: string;
  symbol: string;
  side: Side;
  quantity: Dec;
  /** The price the plan was computed at. */
  price: Dec;
  /** quantity × price. */
  notional: Dec;
  currentWeight: Dec;
  targetWeight: Dec;
}

export type SkipReason = 'BELOW_MIN_NOTIONAL' | 'NO_PRICE';

export interface SkippedAsset {
  asset: string;
  symbol: string;
  reason: SkipReason;
  /** What the order would have traded (null without a price). */
  notional: Dec | null;
}

export interface Plan {
  totalValue: Dec;
  orders: PlannedOrder[];
  skipped: SkippedAsset[];
}

/**
 * The market orders that move a portfolio to its target weights (pure). With T the total value,
 * each asset's gap is `target weight × T − current value`: a positive gap buys gap ÷ price, a
 * negative one sells −gap ÷ price (never more than held; a target of 0 sells the whole holding).
 * Quantities are rounded down to 8 decimals; an order whose notional is below `minNotional` is
 * skipped, as is an asset without a price. Held assets without a target have a target of 0 (when
 * any target is set); cash (quote stablecoins) gets no order: its target is what stays unspent.
 * Sells come first (they fund the buys), each side largest first. No targets: no orders.
 */
export function rebalancePlan(input: PlanInput): Plan {
  const cash = new Set([input.quote, ...input.cashAssets]);
  const totalValue = sum(input.holdings.map((holding) => holding.value));
  const plan: Plan = { totalValue, orders: [], skipped: [] };
  if (input.targets.length === 0) return plan;
  const targets = new Map(input.targets.map((target) => [target.asset, target.weight]));
  const held = new Map(input.holdings.map((holding) => [holding.asset, holding]));
  const assets = [...new Set([...held.keys(), ...targets.keys()])].filter((asset) => !cash.has(asset)).sort();

  for (const asset of assets) {
    const holding = held.get(asset);
    const symbol = holding?.symbol ?? `${asset}/${input.quote}`;
    const targetWeight = targets.get(asset) ?? ZERO;
    const price = holding ? holding.price : (input.prices.get(asset) ?? null);
    const currentValue = holding?.value ?? ZERO;
    const currentWeight = totalValue.isZero() ? ZERO : currentValue.div(totalValue);
    const gap = targetWeight.times(totalValue).minus(currentValue);
    if (gap.isZero()) continue;
    if (!price) {
      plan.skipped.push({ asset, symbol, reason: 'NO_PRICE', notional: null });
      continue;
    }
    const side: Side = gap.isPositive() ? 'BUY' : 'SELL';
    const heldQuantity = holding?.quantity ?? ZERO;
    let quantity = gap.abs().div(price).toDecimalPlaces(QUANTITY_DECIMALS, Dec.ROUND_DOWN);
    // Leaving an asset sells all of it (no dust); otherwise never more than held.
    if (side === 'SELL') quantity = targetWeight.isZero() ? heldQuantity : Dec.min(quantity, heldQuantity);
    const notional = quantity.times(price).toDecimalPlaces(VALUE_DECIMALS);
    if (quantity.isZero() || notional.lt(input.minNotional)) {
      plan.skipped.push({ asset, symbol, reason: 'BELOW_MIN_NOTIONAL', notional });
      continue;
    }
    plan.orders.push({ asset, symbol, side, quantity, price, notional, currentWeight, targetWeight });
  }
  const rank = (order: PlannedOrder) => (order.side === 'SELL' ? 0 : 1);
  plan.orders.sort((a, b) => rank(a) - rank(b) || b.notional.comparedTo(a.notional) || (a.asset < b.asset ? -1 : 1));
  return plan;
}
