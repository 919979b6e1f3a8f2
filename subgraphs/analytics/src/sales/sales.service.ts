import { badInput, requireRole, type RequestContext } from '../../../kit/src';
import { toCount, toMoney } from '../shared/money';
import { dayOf, daysBetween } from '../shared/time';
import { salesFiguresOf, type DailySales } from './sales-report';
import type { SalesReportArgs } from './sales.input';
import type { ProductSalesStats, SalesReport } from './sales.type';

export interface SalesServiceOptions {
  reportDefaultCurrency: string;
  reportMaxDays: number;
}

interface ProductSalesRow {
  product_id: string;
  currency: string;
  units: string;
  revenue_minor: string;
  units_returned: string;
}

const NO_SALES = (): ProductSalesStats => ({ unitsSold: 0, unitsReturned: 0, revenue: [] });

export class SalesService {
  constructor(private readonly options: SalesServiceOptions) {}

  /** Admin: one currency's sales over whole UTC days, from the daily rollups. */
  async report(ctx: RequestContext, args: SalesReportArgs): Promise<SalesReport> {
    const from = dayOf(args.from);
    const to = dayOf(args.to);
    if (to < from) throw badInput('to must not be before from', 'to');
    if (daysBetween(from, to).length > this.options.reportMaxDays) throw badInput(`A report covers at most ${this.options.reportMaxDays} days`, 'to');
    const currency = args.currency ?? this.options.reportDefaultCurrency;
    const rows: { day: string; orders: number; revenue_minor: string; refunds_minor: string }[] = await ctx.em.execute(
      `select to_char("day", 'YYYY-MM-DD') as "day", "orders", "revenue_minor", "refunds_minor"
       from "daily_sales" where "currency" = ? and "day" between ?::date and ?::date order by "day"`,
      [currency, from, to],
    );
    const figures = salesFiguresOf(
      currency,
      from,
      to,
      rows.map((row): DailySales => ({ day: row.day, orders: row.orders, revenue: BigInt(row.revenue_minor), refunds: BigInt(row.refunds_minor) })),
    );
    return {
      currency,
      from,
      to,
      orders: figures.orders,
      revenue: toMoney(figures.revenue, currency),
      refunds: toMoney(figures.refunds, currency),
      net: toMoney(figures.net, currency),
      averageOrderValue: figures.averageOrderValue === null ? null : toMoney(figures.averageOrderValue, currency),
      days: figures.days.map((day) => ({
        date: day.day,
        orders: day.orders,
        revenue: toMoney(day.revenue, currency),
        refunds: toMoney(day.refunds, currency),
        net: toMoney(day.net, currency),
      })),
    };
  }

  /**
   * Admin: a product's units and revenue. Batched per request, so a page of products costs one
   * query; products never sold get zeros.
   */
  async statsOf(ctx: RequestContext, productId: string): Promise<ProductSalesStats> {
    requireRole(ctx.viewer, 'ADMIN');
    return ctx.loaders
      .get<string, ProductSalesStats>('productSalesStats', async (ids) => {
        const rows: ProductSalesRow[] = await ctx.em.execute(
          `select "product_id", "currency", "units", "revenue_minor", "units_returned" from "product_sales" where "product_id" in (?) order by "product_id", "currency"`,
          [[...ids]],
        );
        const stats = new Map<string, ProductSalesStats>();
        for (const row of rows) {
          const entry = stats.get(row.product_id) ?? NO_SALES();
          entry.unitsSold += toCount(row.units);
          entry.unitsReturned += toCount(row.units_returned);
          if (BigInt(row.units) > 0n) entry.revenue.push(toMoney(row.revenue_minor, row.currency));
          stats.set(row.product_id, entry);
        }
        return ids.map((id) => stats.get(id) ?? NO_SALES());
      })
      .load(productId);
  }
}
