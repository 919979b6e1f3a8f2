import { badInput, type EntityManager, type RequestContext } from '../../../kit/src';
import { HoldingEntity } from '../holding/holding.entity';
import type { Portfolio } from '../portfolio/portfolio.type';
import { valuePortfolio } from '../portfolio/valuation';
import type { PriceBook } from '../price/price-book';
import { stored } from '../shared/decimal';
import type { RiskMetricsArgs, SnapshotsArgs } from './snapshot.input';
import { riskMetrics } from './risk-metrics';
import { SnapshotEntity } from './snapshot.entity';
import { toRiskMetrics, toSnapshot, type PortfolioSnapshot, type RiskMetrics } from './snapshot.type';

/** Portfolios valued per snapshot statement. */
const SNAPSHOT_BATCH = 500;

export interface SnapshotServiceOptions {
  prices: PriceBook;
  snapshotsMaxPage: number;
  riskMaxSamples: number;
}

/** Value snapshots: taken for every portfolio each period, read back as a series and as risk figures. */
export class SnapshotService {
  constructor(private readonly options: SnapshotServiceOptions) {}

  private range(args: { from?: Date | null; to?: Date | null }): { $gte?: Date; $lt?: Date } {
    const { from, to } = args;
    if ((from && Number.isNaN(from.getTime())) || (to && Number.isNaN(to.getTime()))) throw badInput('from and to must be valid times', 'from');
    if (from && to && from.getTime() >= to.getTime()) throw badInput('from must be before to', 'from');
    return { ...(from ? { $gte: from } : {}), ...(to ? { $lt: to } : {}) };
  }

  /** The latest `first` snapshots of the range, oldest first. */
  private async series(ctx: RequestContext, portfolioId: string, args: { from?: Date | null; to?: Date | null }, limit: number): Promise<SnapshotEntity[]> {
    const takenAt = this.range(args);
    const where = Object.keys(takenAt).length > 0 ? { portfolioId, takenAt } : { portfolioId };
    const rows = await ctx.em.find(SnapshotEntity, where, { orderBy: { takenAt: 'desc' }, limit });
    return rows.reverse();
  }

  async snapshots(ctx: RequestContext, portfolio: Portfolio, args: SnapshotsArgs): Promise<PortfolioSnapshot[]> {
    const max = this.options.snapshotsMaxPage;
    const first = args.first ?? max;
    if (first > max) throw badInput(`first must be at most ${max}`, 'first');
    return (await this.series(ctx, portfolio.id, args, first)).map(toSnapshot);
  }

  async riskMetrics(ctx: RequestContext, portfolio: Portfolio, args: RiskMetricsArgs): Promise<RiskMetrics> {
    const rows = await this.series(ctx, portfolio.id, args, this.options.riskMaxSamples);
    return toRiskMetrics(riskMetrics(rows.map((row) => ({ totalValue: String(row.totalValue), netInvested: String(row.netInvested) }))));
  }

  /**
   * Writes one snapshot at `takenAt` of every portfolio that holds something, or whose last snapshot
   * was worth something (its fall to zero is a return too). A portfolio that already has a snapshot
   * at `takenAt` keeps it (a second job of the period writes nothing). Returns the rows written.
   */
  async takeSnapshots(em: EntityManager, takenAt: Date): Promise<number> {
    let written = 0;
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const batch = await em.getConnection().execute<{ id: string }[]>(
        `select p."id" from "portfolio" p
         where p."id" > ? and (
           exists (select 1 from "holding" h where h."portfolio_id" = p."id" and h."quantity" > 0)
           or (select s."total_value" from "portfolio_snapshot" s where s."portfolio_id" = p."id" order by s."taken_at" desc limit 1) > 0)
         order by p."id" limit ?`,
        [after, SNAPSHOT_BATCH],
      );
      if (batch.length === 0) return written;
      after = batch[batch.length - 1]!.id;
      const ids = batch.map((row) => row.id);
      const fork = em.fork();
      const holdings = await fork.find(HoldingEntity, { portfolioId: { $in: ids } });
      const prices = await this.options.prices.resolve(fork, holdings.filter((row) => Number(row.quantity) > 0).map((row) => row.symbol));
      const params: unknown[] = [];
      const values = ids.map((id) => {
        const value = valuePortfolio(
          holdings
            .filter((row) => row.portfolioId === id)
            .map((row) => ({ ...row, quantity: String(row.quantity), costBasis: String(row.costBasis), realizedPnl: String(row.realizedPnl), fees: String(row.fees), netInvested: String(row.netInvested) })),
          prices,
        );
        params.push(id, takenAt, stored(value.totalValue), stored(value.netInvested), stored(value.costBasis), stored(value.realizedPnl), stored(value.unrealizedPnl));
        return '(?::uuid, ?::timestamptz, ?::numeric, ?::numeric, ?::numeric, ?::numeric, ?::numeric)';
      });
      // Only portfolios still there, kept until the statement ends: one erased meanwhile is skipped, not a failed job.
      const inserted = await em.getConnection().execute<{ portfolio_id: string }[]>(
        `insert into "portfolio_snapshot" ("portfolio_id", "taken_at", "total_value", "net_invested", "cost_basis", "realized_pnl", "unrealized_pnl")
         select v.* from (values ${values.join(', ')}) as v("portfolio_id", "taken_at", "total_value", "net_invested", "cost_basis", "realized_pnl", "unrealized_pnl")
         join "portfolio" p on p."id" = v."portfolio_id" for key share of p
         on conflict do nothing returning "portfolio_id"`,
        params,
      );
      written += inserted.length;
    }
  }
}
