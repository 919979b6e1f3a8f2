import { forbidden, groupedBy, requireViewer, type RequestContext } from '../../../kit/src';
import { plainDecimal } from '../shared/decimal';
import type { TradingStats } from './trading.type';

interface TradingStatsRow {
  user_id: string;
  quote: string;
  fills: number;
  volume: string;
  fees: string;
  /** Raw rows keep timestamps as the driver's strings. */
  last_fill_at: string | Date;
}

export class TradingStatsService {
  /** A user's figures per quote currency: the user themself or an ADMIN; batched per request. */
  async statsOf(ctx: RequestContext, userId: string): Promise<TradingStats[]> {
    const viewer = requireViewer(ctx.viewer);
    if (viewer.id !== userId && viewer.role !== 'ADMIN') throw forbidden('Only the user themself or an ADMIN sees trading stats');
    return ctx.loaders
      .get<string, TradingStats[]>('tradingStats', async (ids) => {
        const rows: TradingStatsRow[] = await ctx.em.execute(
          `select "user_id", "quote", "fills", "volume"::text as "volume", "fees"::text as "fees", "last_fill_at" from "trading_stats" where "user_id" in (?) order by "quote"`,
          [[...ids]],
        );
        return groupedBy(ids, rows, (row) => row.user_id).map((group) =>
          group.map((row) => ({ quote: row.quote, fills: row.fills, volume: plainDecimal(row.volume), fees: plainDecimal(row.fees), lastFillAt: new Date(row.last_fill_at) })),
        );
      })
      .load(userId);
  }
}
