import type { RequestContext } from '../../../kit/src';
import { Dec, plainDecimal } from '../shared/decimal';
import { toCount, toMoney } from '../shared/money';
import { addDays, dayOf, last24HoursStart, startOfDay } from '../shared/time';
import type { Kpis } from './kpi.type';

interface CountsRow {
  signups_today: string;
  signups_30d: string;
  confirmed_30d: string;
  cancelled_30d: string;
  payment_failures_today: string;
  trade_orders_today: string;
  signals_today: string;
  signals_resolved_today: string;
  low_stock_alerts_today: string;
  plan_changes_today: string;
}

/** part / whole in percent with two decimals (half even); null when whole is 0. */
export function percentOf(part: number, whole: number): string | null {
  if (whole === 0) return null;
  return new Dec(part).times(100).div(whole).toFixed(2);
}

export class KpiService {
  constructor(private readonly clock: () => Date = () => new Date()) {}

  /** Admin: today's figures from the rollups (three small queries). */
  async kpis(ctx: RequestContext): Promise<Kpis> {
    const now = this.clock();
    const today = dayOf(now);
    const from30 = addDays(today, -29);
    const todayStart = startOfDay(today);
    const [counts]: CountsRow[] = await ctx.em.execute(
      `select
         (select coalesce(sum("signups"), 0) from "daily_signups" where "day" = ?::date) as "signups_today",
         (select coalesce(sum("signups"), 0) from "daily_signups" where "day" between ?::date and ?::date) as "signups_30d",
         (select coalesce(sum("confirmed"), 0) from "daily_orders" where "day" between ?::date and ?::date) as "confirmed_30d",
         (select coalesce(sum("cancelled"), 0) from "daily_orders" where "day" between ?::date and ?::date) as "cancelled_30d",
         (select coalesce(sum("payment_failures"), 0) from "daily_orders" where "day" = ?::date) as "payment_failures_today",
         (select count(*) from "trade_order_state" where "first_seen_at" >= ?)
           + (select coalesce(sum("orders"), 0) from "daily_erased_trade_orders" where "day" >= ?::date) as "trade_orders_today",
         (select coalesce(sum("received"), 0) from "signal_stats" where "day" = ?::date) as "signals_today",
         (select coalesce(sum("wins" + "losses"), 0) from "signal_stats" where "day" = ?::date) as "signals_resolved_today",
         (select count(*) from "low_stock_alert" where "occurred_at" >= ?) as "low_stock_alerts_today",
         (select coalesce(sum("changes"), 0) from "daily_plan_changes" where "day" = ?::date) as "plan_changes_today"`,
      [today, from30, today, from30, today, from30, today, today, todayStart, today, today, today, todayStart, today],
    );
    const sales: { currency: string; orders: number; revenue_minor: string }[] = await ctx.em.execute(
      `select "currency", "orders", "revenue_minor" from "daily_sales" where "day" = ?::date order by "currency"`,
      [today],
    );
    const volume: { quote: string; fills: string; volume: string }[] = await ctx.em.execute(
      `select "quote", sum("fills") as "fills", sum("volume")::text as "volume" from "hourly_trading" where "hour" >= ? group by "quote" order by "quote"`,
      [last24HoursStart(now)],
    );
    const confirmed = toCount(counts!.confirmed_30d);
    return {
      asOf: now,
      today,
      signupsToday: toCount(counts!.signups_today),
      signups30d: toCount(counts!.signups_30d),
      ordersToday: sales.reduce((sum, row) => sum + row.orders, 0),
      revenueToday: sales.map((row) => toMoney(row.revenue_minor, row.currency)),
      checkoutConversion30d: percentOf(confirmed, confirmed + toCount(counts!.cancelled_30d)),
      paymentFailuresToday: toCount(counts!.payment_failures_today),
      tradingVolume24h: volume.map((row) => ({ quote: row.quote, fills: toCount(row.fills), volume: plainDecimal(row.volume) })),
      tradeOrdersToday: toCount(counts!.trade_orders_today),
      signalsToday: toCount(counts!.signals_today),
      signalsResolvedToday: toCount(counts!.signals_resolved_today),
      lowStockAlertsToday: toCount(counts!.low_stock_alerts_today),
      planChangesToday: toCount(counts!.plan_changes_today),
    };
  }
}
