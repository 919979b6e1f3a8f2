import { averageCost } from '../holding/cost-basis';
import { Dec, sum, ZERO } from '../shared/decimal';
import type { PriceQuote } from '../price/price-book';

/** A holding as stored (decimal strings), ready to be valued. */
export interface HoldingState {
  asset: string;
  symbol: string;
  quantity: string;
  costBasis: string;
  realizedPnl: string;
  fees: string;
  netInvested: string;
  updatedAt: Date;
}

export interface HoldingValue {
  asset: string;
  symbol: string;
  quantity: Dec;
  costBasis: Dec;
  averageCost: Dec | null;
  /** Null while no price of the symbol is known. */
  marketPrice: Dec | null;
  priceAt: Date | null;
  /** quantity × market price; null without a price. */
  marketValue: Dec | null;
  /** market value − cost basis; null without a price. */
  unrealizedPnl: Dec | null;
  realizedPnl: Dec;
  fees: Dec;
  netInvested: Dec;
  /** Share of the portfolio's total value (0 when the total is 0). */
  weight: Dec;
  updatedAt: Date;
}

export interface PortfolioValue {
  holdings: HoldingValue[];
  /** Market value of every open holding; one without a price counts at its cost basis. */
  totalValue: Dec;
  costBasis: Dec;
  netInvested: Dec;
  realizedPnl: Dec;
  /** Over the priced holdings only. */
  unrealizedPnl: Dec;
  fees: Dec;
  /** Open holdings without a known price. */
  unpricedAssets: string[];
  /** The newest of the last fill and the prices used; null for an empty portfolio. */
  updatedAt: Date | null;
}

/**
 * Values holdings at the latest prices (pure). Quote currencies are USD stablecoins taken at 1:1,
 * so every figure is in the reporting quote currency. Holdings come out by market value, largest first.
 */
export function valuePortfolio(holdings: readonly HoldingState[], prices: ReadonlyMap<string, PriceQuote>): PortfolioValue {
  const valued = holdings.map((holding) => {
    const quantity = new Dec(holding.quantity);
    const costBasis = new Dec(holding.costBasis);
    const quote = quantity.isZero() ? undefined : prices.get(holding.symbol);
    const marketPrice = quote ? new Dec(quote.price) : null;
    const marketValue = marketPrice ? quantity.times(marketPrice) : null;
    return {
      asset: holding.asset,
      symbol: holding.symbol,
      quantity,
      costBasis,
      averageCost: averageCost({ quantity, costBasis }),
      marketPrice,
      priceAt: quote?.at ?? null,
      marketValue,
      unrealizedPnl: marketValue ? marketValue.minus(costBasis) : null,
      realizedPnl: new Dec(holding.realizedPnl),
      fees: new Dec(holding.fees),
      netInvested: new Dec(holding.netInvested),
      weight: ZERO,
      updatedAt: holding.updatedAt,
    } satisfies HoldingValue;
  });
  const open = valued.filter((holding) => !holding.quantity.isZero());
  const valueOf = (holding: HoldingValue): Dec => holding.marketValue ?? holding.costBasis;
  const totalValue = sum(open.map(valueOf));
  for (const holding of open) holding.weight = totalValue.isZero() ? ZERO : valueOf(holding).div(totalValue);
  const times = [...valued.map((holding) => holding.updatedAt.getTime()), ...open.flatMap((holding) => (holding.priceAt ? [holding.priceAt.getTime()] : []))];
  return {
    holdings: valued.sort((a, b) => valueOf(b).comparedTo(valueOf(a)) || (a.asset < b.asset ? -1 : 1)),
    totalValue,
    costBasis: sum(open.map((holding) => holding.costBasis)),
    netInvested: sum(valued.map((holding) => holding.netInvested)),
    realizedPnl: sum(valued.map((holding) => holding.realizedPnl)),
    unrealizedPnl: sum(open.flatMap((holding) => (holding.unrealizedPnl ? [holding.unrealizedPnl] : []))),
    fees: sum(valued.map((holding) => holding.fees)),
    unpricedAssets: open.filter((holding) => !holding.marketPrice).map((holding) => holding.asset).sort(),
    updatedAt: times.length > 0 ? new Date(Math.max(...times)) : null,
  };
}
