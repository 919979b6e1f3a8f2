import type DataLoader from 'dataloader';
import { forbidden, groupedBy, orderedBy, unauthenticated, type RequestContext } from '../../../kit/src';
import { HoldingEntity } from '../holding/holding.entity';
import { toHolding, type Holding } from '../holding/holding.type';
import type { PriceBook } from '../price/price-book';
import { money } from '../shared/decimal';
import { isUuid, portfolioIdOf, splitSymbol } from '../shared/ids';
import { PortfolioEntity } from './portfolio.entity';
import { Portfolio } from './portfolio.type';
import { valuePortfolio, type HoldingState } from './valuation';

export interface PortfolioServiceOptions {
  prices: PriceBook;
  /** Accepted quote currencies; the first is the reporting one. */
  quoteCurrencies: readonly string[];
}

const stateOf = (row: HoldingEntity): HoldingState => ({
  asset: row.asset,
  symbol: row.symbol,
  quantity: String(row.quantity),
  costBasis: String(row.costBasis),
  realizedPnl: String(row.realizedPnl),
  fees: String(row.fees),
  netInvested: String(row.netInvested),
  updatedAt: row.updatedAt,
});

/** Portfolios valued at the latest prices, and who may see which. */
export class PortfolioService {
  constructor(private readonly options: PortfolioServiceOptions) {}

  get currency(): string {
    return this.options.quoteCurrencies[0]!;
  }

  /**
   * Users' portfolios, valued: one holdings query and one price lookup per batch. No access check
   * here; the entry points check.
   */
  private valued(ctx: RequestContext): DataLoader<string, Portfolio> {
    return ctx.loaders.get<string, Portfolio>('portfolio.valued', async (userIds) => {
      const ids = userIds.map(portfolioIdOf);
      const rows = await ctx.em.find(HoldingEntity, { portfolioId: { $in: [...new Set(ids)] } });
      const byPortfolio = groupedBy(ids, rows, (row) => row.portfolioId);
      const symbols = rows.filter((row) => Number(row.quantity) > 0).map((row) => row.symbol);
      const prices = await this.options.prices.resolve(ctx.em, symbols);
      return userIds.map((userId, index) => this.toPortfolio(userId, valuePortfolio(byPortfolio[index]!.map(stateOf), prices)));
    });
  }

  private toPortfolio(userId: string, value: ReturnType<typeof valuePortfolio>): Portfolio {
    return Object.assign(new Portfolio(), {
      id: portfolioIdOf(userId),
      userId,
      currency: this.currency,
      totalValue: money(value.totalValue),
      costBasis: money(value.costBasis),
      netInvested: money(value.netInvested),
      realizedPnl: money(value.realizedPnl),
      unrealizedPnl: money(value.unrealizedPnl),
      totalPnl: money(value.realizedPnl.plus(value.unrealizedPnl)),
      fees: money(value.fees),
      unpricedAssets: value.unpricedAssets,
      updatedAt: value.updatedAt,
      allHoldings: value.holdings.map(toHolding),
      value,
    });
  }

  /** The signed-in user's portfolio (empty before their first fill). */
  mine(ctx: RequestContext): Promise<Portfolio> {
    if (!ctx.viewer) throw unauthenticated();
    return this.valued(ctx).load(ctx.viewer.id);
  }

  /** `User.portfolio`: the user themself or an ADMIN; UNAUTHENTICATED when signed out, FORBIDDEN for anyone else. */
  ofUser(ctx: RequestContext, userId: string): Promise<Portfolio> {
    if (!ctx.viewer) throw unauthenticated();
    if (ctx.viewer.id !== userId && ctx.viewer.role !== 'ADMIN') throw forbidden("Only the user themself sees their portfolio");
    return this.valued(ctx).load(userId);
  }

  /** `_entities` for Portfolio: the viewer's own, or any that exists for an ADMIN; null otherwise. */
  async reference(ctx: RequestContext, id: string): Promise<Portfolio | null> {
    const viewer = ctx.viewer;
    if (!viewer) return null;
    if (id === portfolioIdOf(viewer.id)) return this.valued(ctx).load(viewer.id);
    if (viewer.role !== 'ADMIN' || !isUuid(id)) return null;
    const owner = await ctx.loaders
      .get<string, PortfolioEntity | null>('portfolio.byId', async (ids) => orderedBy(ids, await ctx.em.find(PortfolioEntity, { id: { $in: [...ids] } }), (row) => row.id))
      .load(id);
    return owner ? this.valued(ctx).load(owner.userId) : null;
  }

  /** `Instrument.position`: the signed-in user's holding of the instrument's base asset; null when signed out or never held. */
  async position(ctx: RequestContext, symbol: string): Promise<Holding | null> {
    if (!ctx.viewer) return null;
    const { base } = splitSymbol(symbol);
    const portfolio = await this.valued(ctx).load(ctx.viewer.id);
    return portfolio.allHoldings.find((holding) => holding.asset === base) ?? null;
  }

  /** The holdings a client sees: open ones, or every one. */
  holdings(portfolio: Portfolio, includeClosed: boolean): Holding[] {
    // plain() writes zero as "0".
    return includeClosed ? portfolio.allHoldings : portfolio.allHoldings.filter((holding) => holding.quantity !== '0');
  }
}
