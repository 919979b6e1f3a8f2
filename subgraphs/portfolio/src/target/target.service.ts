import { badInput, groupedBy, requireViewer, unauthenticated, type RequestContext } from '../../../kit/src';
import { openPortfolio } from '../portfolio/erasure';
import type { PortfolioService } from '../portfolio/portfolio.service';
import type { Portfolio } from '../portfolio/portfolio.type';
import type { PriceBook } from '../price/price-book';
import { Dec, plain, stored, sum } from '../shared/decimal';
import { portfolioIdOf } from '../shared/ids';
import { rebalancePlan } from './rebalance';
import { TargetAllocationEntity } from './target.entity';
import type { TargetAllocationInput } from './target.input';
import { toRebalancePlan, TargetAllocation, type RebalancePlan } from './target.type';

export interface TargetServiceOptions {
  prices: PriceBook;
  portfolios: PortfolioService;
  /** Accepted quote currencies; the first is the reporting one. */
  quoteCurrencies: readonly string[];
}

/**
 * Checks target weights and brings them to fractions: distinct assets, weights summing exactly to
 * 1 (fractions) or to 100 (percent). BAD_USER_INPUT otherwise.
 */
export function normalizeTargets(inputs: readonly Pick<TargetAllocationInput, 'asset' | 'weight'>[]): { asset: string; weight: Dec }[] {
  const assets = new Set<string>();
  for (const input of inputs) {
    if (assets.has(input.asset)) throw badInput(`asset ${input.asset} appears twice`, 'targets');
    assets.add(input.asset);
  }
  if (inputs.length === 0) return [];
  const weights = inputs.map((input) => new Dec(input.weight));
  const total = sum(weights);
  const scale = total.eq(1) ? new Dec(1) : total.eq(100) ? new Dec(100) : null;
  if (!scale) throw badInput(`weights must sum to 1 (or 100 for percentages), got ${plain(total)}`, 'targets');
  return inputs.map((input, index) => ({ asset: input.asset, weight: weights[index]!.div(scale) }));
}

/** Target allocations and the rebalancing plan that reaches them. */
export class TargetService {
  constructor(private readonly options: TargetServiceOptions) {}

  private symbolOf(asset: string): string {
    return `${asset}/${this.options.quoteCurrencies[0]}`;
  }

  private isCash(asset: string): boolean {
    return this.options.quoteCurrencies.includes(asset);
  }

  private rows(ctx: RequestContext, portfolioId: string): Promise<TargetAllocationEntity[]> {
    return ctx.loaders
      .get<string, TargetAllocationEntity[]>('target.byPortfolio', async (ids) =>
        groupedBy(ids, await ctx.em.find(TargetAllocationEntity, { portfolioId: { $in: [...ids] } }, { orderBy: { asset: 'asc' } }), (row) => row.portfolioId),
      )
      .load(portfolioId);
  }

  async targets(ctx: RequestContext, portfolio: Portfolio): Promise<TargetAllocation[]> {
    return (await this.rows(ctx, portfolio.id)).map((row) => Object.assign(new TargetAllocation(), { asset: row.asset, weight: plain(new Dec(String(row.weight))) }));
  }

  /** Replaces the signed-in user's targets (all or nothing) and returns their portfolio. */
  async setTargets(ctx: RequestContext, inputs: readonly TargetAllocationInput[]): Promise<Portfolio> {
    const viewer = requireViewer(ctx.viewer);
    const targets = normalizeTargets(inputs);
    const portfolioId = portfolioIdOf(viewer.id);
    await ctx.em.transactional(async (tx) => {
      // An access token outlives its deleted account by minutes: it must not write a portfolio again.
      if (!(await openPortfolio(tx, viewer.id))) throw unauthenticated('The signed-in account no longer exists');
      await tx.execute(`delete from "target_allocation" where "portfolio_id" = ?`, [portfolioId]);
      if (targets.length > 0) {
        const params = targets.flatMap((target) => [portfolioId, target.asset, stored(target.weight)]);
        await tx.execute(`insert into "target_allocation" ("portfolio_id", "asset", "weight") values ${targets.map(() => '(?, ?, ?::numeric)').join(', ')}`, params);
      }
    });
    // Plans need the prices of targeted assets not held yet; following is best effort (ticks arrive later).
    void this.options.prices.follow(targets.filter((target) => !this.isCash(target.asset)).map((target) => this.symbolOf(target.asset)));
    return this.options.portfolios.mine(ctx);
  }

  /** The orders from the current holdings to the targets (see rebalance.ts); BAD_USER_INPUT for a malformed minNotional. */
  async plan(ctx: RequestContext, portfolio: Portfolio, minNotional: string): Promise<RebalancePlan> {
    const targets = (await this.rows(ctx, portfolio.id)).map((row) => ({ asset: row.asset, weight: new Dec(String(row.weight)) }));
    const held = new Set(portfolio.value.holdings.filter((holding) => !holding.quantity.isZero()).map((holding) => holding.asset));
    const unheld = targets.filter((target) => !held.has(target.asset) && !this.isCash(target.asset));
    const quotes = await this.options.prices.resolve(ctx.em, unheld.map((target) => this.symbolOf(target.asset)));
    const prices = new Map(unheld.flatMap((target) => {
      const quote = quotes.get(this.symbolOf(target.asset));
      return quote ? [[target.asset, new Dec(quote.price)] as const] : [];
    }));
    const plan = rebalancePlan({
      quote: this.options.quoteCurrencies[0]!,
      cashAssets: this.options.quoteCurrencies,
      holdings: portfolio.value.holdings
        .filter((holding) => !holding.quantity.isZero())
        .map((holding) => ({
          asset: holding.asset,
          symbol: holding.symbol,
          quantity: holding.quantity,
          price: holding.marketPrice,
          value: holding.marketValue ?? holding.costBasis,
        })),
      targets,
      prices,
      minNotional: new Dec(minNotional),
    });
    return toRebalancePlan(plan);
  }
}
