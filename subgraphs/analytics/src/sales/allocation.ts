/** An order line with its unit price in the order's currency: the one charged, or the list price when analytics knows it. */
export interface PricedLine {
  productId: string;
  quantity: number;
  /** Minor units; null when no ProductChanged in the order's currency was seen. */
  unitPrice: bigint | null;
}

export interface ProductSale {
  productId: string;
  units: number;
  /** This product's share of the amount paid, in minor units. */
  revenue: bigint;
}

/**
 * Splits the amount paid for an order across its products, so product revenue always adds up to
 * what was paid. The shares follow quantity × unit price (the one charged; for older events the list
 * price from ProductChanged); when a price is unknown, or every price is 0, they follow quantity alone.
 * Whole minor units by largest remainder: the leftover units go to the largest fractions, ties to
 * the earlier line. Repeated products are merged first.
 */
export function allocateRevenue(paid: bigint, lines: readonly PricedLine[]): ProductSale[] {
  const merged = new Map<string, { units: number; unitPrice: bigint | null }>();
  for (const line of lines) {
    const seen = merged.get(line.productId);
    if (seen) {
      seen.units += line.quantity;
      seen.unitPrice ??= line.unitPrice;
    } else {
      merged.set(line.productId, { units: line.quantity, unitPrice: line.unitPrice });
    }
  }
  const products = [...merged].map(([productId, { units, unitPrice }]) => ({ productId, units, unitPrice }));
  const priced = products.every((product) => product.unitPrice !== null && product.unitPrice >= 0n);
  let weights = products.map((product) => (priced ? BigInt(product.units) * product.unitPrice! : 0n));
  if (weights.every((weight) => weight === 0n)) weights = products.map((product) => BigInt(product.units));
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0n);
  if (paid <= 0n || totalWeight === 0n) return products.map(({ productId, units }) => ({ productId, units, revenue: 0n }));

  const shares = weights.map((weight) => (paid * weight) / totalWeight);
  let leftover = paid - shares.reduce((sum, share) => sum + share, 0n);
  const byRemainder = weights
    .map((weight, index) => ({ index, remainder: (paid * weight) % totalWeight }))
    .sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const { index } of byRemainder) {
    if (leftover === 0n) break;
    shares[index]! += 1n;
    leftover -= 1n;
  }
  return products.map(({ productId, units }, index) => ({ productId, units, revenue: shares[index]! }));
}
