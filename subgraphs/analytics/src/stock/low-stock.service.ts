import { badInput, type RequestContext } from '../../../kit/src';
import type { LowStockAlert } from './low-stock.type';

export class LowStockService {
  constructor(private readonly options: { maxPage: number }) {}

  /** Admin: the latest alerts, newest first. */
  async latest(ctx: RequestContext, first: number): Promise<LowStockAlert[]> {
    if (first < 1 || first > this.options.maxPage) throw badInput(`first must be between 1 and ${this.options.maxPage}`, 'first');
    const rows: { product_id: string; available: number | null; threshold: number | null; occurred_at: string | Date }[] = await ctx.em.execute(
      `select "product_id", "available", "threshold", "occurred_at" from "low_stock_alert" order by "occurred_at" desc, "event_id" limit ?`,
      [first],
    );
    return rows.map((row) => ({ product: { id: row.product_id }, available: row.available, lowStockThreshold: row.threshold, occurredAt: new Date(row.occurred_at) }));
  }
}
