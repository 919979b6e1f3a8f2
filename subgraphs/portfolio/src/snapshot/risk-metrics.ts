import { Dec, sum, ZERO } from '../shared/decimal';

/** A snapshot as the metrics need it: the value and the net quote invested up to then. */
export interface ValuePoint {
  totalValue: string;
  netInvested: string;
}

export interface RiskFigures {
  /** Period returns the figures come from (snapshots with a positive previous value, minus one). */
  samples: number;
  /** Largest peak-to-trough fall of the return index, a fraction (0.25 = 25 %); null without returns. */
  maxDrawdown: Dec | null;
  /** One-period historical Value at Risk at 95 %: the loss (a fraction, ≥ 0) exceeded by only 5 % of periods; null without returns. */
  var95: Dec | null;
  /** Sample standard deviation of the period returns, per snapshot period (not annualised); null below two returns. */
  volatility: Dec | null;
  /** The period returns, oldest first. */
  returns: Dec[];
}

/**
 * Risk figures from a value history, oldest first (pure). Buying and selling moves value without
 * gain or loss, so returns are taken net of flows (net invested is quote paid minus quote received):
 *
 *   r_i = (V_i − V_{i−1} − (F_i − F_{i−1})) / V_{i−1}        for V_{i−1} > 0 (other periods are skipped)
 *
 * (a flow counts at the end of its period). From the returns r_1…r_n:
 *
 *   return index   W_0 = 1, W_i = W_{i−1} × (1 + r_i)
 *   max drawdown   max_i (max_{j≤i} W_j − W_i) / max_{j≤i} W_j
 *   VaR 95 %       max(0, −q), q = the ⌈0.05 n⌉-th smallest return (the empirical 5 % quantile, no interpolation)
 *   volatility     sqrt( Σ (r_i − r̄)² / (n − 1) )
 */
export function riskMetrics(points: readonly ValuePoint[]): RiskFigures {
  const returns: Dec[] = [];
  for (let index = 1; index < points.length; index += 1) {
    const previous = new Dec(points[index - 1]!.totalValue);
    if (previous.lte(0)) continue;
    const current = new Dec(points[index]!.totalValue);
    const flow = new Dec(points[index]!.netInvested).minus(points[index - 1]!.netInvested);
    returns.push(current.minus(previous).minus(flow).div(previous));
  }
  const n = returns.length;
  if (n === 0) return { samples: 0, maxDrawdown: null, var95: null, volatility: null, returns };

  let index = new Dec(1);
  let peak = index;
  let maxDrawdown = ZERO;
  for (const r of returns) {
    index = index.times(r.plus(1));
    if (index.gt(peak)) peak = index;
    const drawdown = peak.minus(index).div(peak);
    if (drawdown.gt(maxDrawdown)) maxDrawdown = drawdown;
  }

  const sorted = [...returns].sort((a, b) => a.comparedTo(b));
  const quantile = sorted[Math.max(1, Math.ceil(0.05 * n)) - 1]!;
  const var95 = quantile.isNegative() ? quantile.negated() : ZERO;

  let volatility: Dec | null = null;
  if (n >= 2) {
    const mean = sum(returns).div(n);
    volatility = sum(returns.map((r) => r.minus(mean).pow(2)))
      .div(n - 1)
      .sqrt();
  }
  return { samples: n, maxDrawdown, var95, volatility, returns };
}
