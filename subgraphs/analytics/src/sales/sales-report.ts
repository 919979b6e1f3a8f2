import { daysBetween, type Day } from '../shared/time';

/** One row of `daily_sales` for the report's currency. */
export interface DailySales {
  day: Day;
  orders: number;
  revenue: bigint;
  refunds: bigint;
}

export interface SalesDayFigures extends DailySales {
  net: bigint;
}

export interface SalesFigures {
  currency: string;
  from: Day;
  to: Day;
  orders: number;
  revenue: bigint;
  refunds: bigint;
  net: bigint;
  /** Revenue / orders rounded half up to a minor unit; null without orders. */
  averageOrderValue: bigint | null;
  /** Every day of the range, days without sales included (as zeros). */
  days: SalesDayFigures[];
}

/** Totals and the dense per-day series of a report from the rollup rows of its range. */
export function salesFiguresOf(currency: string, from: Day, to: Day, rows: readonly DailySales[]): SalesFigures {
  const byDay = new Map(rows.map((row) => [row.day, row]));
  const days = daysBetween(from, to).map((day): SalesDayFigures => {
    const row = byDay.get(day);
    const revenue = row?.revenue ?? 0n;
    const refunds = row?.refunds ?? 0n;
    return { day, orders: row?.orders ?? 0, revenue, refunds, net: revenue - refunds };
  });
  const orders = days.reduce((sum, day) => sum + day.orders, 0);
  const revenue = days.reduce((sum, day) => sum + day.revenue, 0n);
  const refunds = days.reduce((sum, day) => sum + day.refunds, 0n);
  return {
    currency,
    from,
    to,
    orders,
    revenue,
    refunds,
    net: revenue - refunds,
    averageOrderValue: orders === 0 ? null : roundHalfUp(revenue, BigInt(orders)),
    days,
  };
}

/** numerator / denominator rounded half up (away from zero for negatives), denominator > 0. */
export function roundHalfUp(numerator: bigint, denominator: bigint): bigint {
  const sign = numerator < 0n ? -1n : 1n;
  const magnitude = numerator * sign;
  return sign * ((2n * magnitude + denominator) / (2n * denominator));
}
