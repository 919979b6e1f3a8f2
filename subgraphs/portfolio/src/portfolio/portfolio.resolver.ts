import type { GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import { Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root, Subscription, UseMiddleware, type MiddlewareFn, type SubscribeResolverData } from 'type-graphql';
import { LoaderCache, requireViewer, type RequestContext } from '../../../kit/src';
import { HoldingsArgs } from '../holding/holding.input';
import { Holding } from '../holding/holding.type';
import { SnapshotsArgs, RiskMetricsArgs } from '../snapshot/snapshot.input';
import type { SnapshotService } from '../snapshot/snapshot.service';
import { PortfolioSnapshot, RiskMetrics } from '../snapshot/snapshot.type';
import { RebalancePlanArgs, SetTargetAllocationsArgs } from '../target/target.input';
import type { TargetService } from '../target/target.service';
import { RebalancePlan, TargetAllocation } from '../target/target.type';
import { User } from '../user/user.type';
import type { PortfolioService } from './portfolio.service';
import { Portfolio } from './portfolio.type';
import type { PortfolioUpdateMessage, PortfolioUpdates } from './portfolio.updates';

/**
 * type-graphql's `subscribe` option gets no resolver instance, and one process may serve several
 * schemas (tests run several servers): each schema is bound to its own PortfolioUpdates here.
 */
const updatesBySchema = new WeakMap<GraphQLSchema, PortfolioUpdates>();

export function bindPortfolioUpdates(schema: GraphQLSchema, updates: PortfolioUpdates): void {
  updatesBySchema.set(schema, updates);
}

function updatesFor(info: GraphQLResolveInfo): PortfolioUpdates {
  const updates = updatesBySchema.get(info.schema);
  if (!updates) throw new Error('no portfolio updates are bound to this schema');
  return updates;
}

/** Checks sign-in before arguments are validated, so an anonymous caller learns nothing about inputs. */
const signedIn: MiddlewareFn<RequestContext> = ({ context }, next) => {
  requireViewer(context.viewer);
  return next();
};

@Resolver(() => Portfolio)
export class PortfolioResolver {
  constructor(
    private readonly portfolios: PortfolioService,
    private readonly snapshotService: SnapshotService,
    private readonly targetService: TargetService,
  ) {}

  @Query(() => Portfolio, { description: "The signed-in user's portfolio (empty before their first fill)." })
  @UseMiddleware(signedIn)
  myPortfolio(@Ctx() ctx: RequestContext): Promise<Portfolio> {
    return this.portfolios.mine(ctx);
  }

  @Mutation(() => Portfolio, {
    description:
      "Replaces the signed-in user's target allocations. Weights sum to 1 (fractions) or 100 (percent); BAD_USER_INPUT otherwise or for a repeated asset.",
  })
  @UseMiddleware(signedIn)
  setTargetAllocations(@Args(() => SetTargetAllocationsArgs) args: SetTargetAllocationsArgs, @Ctx() ctx: RequestContext): Promise<Portfolio> {
    return this.targetService.setTargets(ctx, args.targets);
  }

  @Subscription(() => Portfolio, {
    description:
      "The signed-in user's portfolio now, then again whenever a fill or a price of a held instrument changes it: at most once per UPDATE_THROTTLE_MS, the latest state. UNAUTHENTICATED when signed out.",
    subscribe: ({ context, info }: SubscribeResolverData<unknown, Record<string, never>, RequestContext>) => updatesFor(info).stream(context),
  })
  portfolioUpdated(@Root() message: PortfolioUpdateMessage, @Ctx() ctx: RequestContext): Promise<Portfolio> {
    // The context lives as long as the subscription: every update reads afresh (no identity map, no cached loaders).
    ctx.em = ctx.em.fork();
    ctx.loaders = new LoaderCache();
    return this.portfolios.ofUser(ctx, message.userId);
  }

  @FieldResolver(() => [Holding], { description: 'Largest market value first.' })
  holdings(@Root() portfolio: Portfolio, @Args(() => HoldingsArgs) args: HoldingsArgs): Holding[] {
    return this.portfolios.holdings(portfolio, args.includeClosed);
  }

  @FieldResolver(() => User)
  user(@Root() portfolio: Portfolio): User {
    return { id: portfolio.userId };
  }

  @FieldResolver(() => [PortfolioSnapshot], { description: 'Value snapshots taken in [from, to), oldest first. BAD_USER_INPUT for a bad range or page size.' })
  snapshots(@Root() portfolio: Portfolio, @Args(() => SnapshotsArgs) args: SnapshotsArgs, @Ctx() ctx: RequestContext): Promise<PortfolioSnapshot[]> {
    return this.snapshotService.snapshots(ctx, portfolio, args);
  }

  @FieldResolver(() => RiskMetrics, { description: 'From the snapshots taken in [from, to) (the latest RISK_MAX_SAMPLES).' })
  riskMetrics(@Root() portfolio: Portfolio, @Args(() => RiskMetricsArgs) args: RiskMetricsArgs, @Ctx() ctx: RequestContext): Promise<RiskMetrics> {
    return this.snapshotService.riskMetrics(ctx, portfolio, args);
  }

  @FieldResolver(() => [TargetAllocation], { description: 'By asset; empty when none are set.' })
  targets(@Root() portfolio: Portfolio, @Ctx() ctx: RequestContext): Promise<TargetAllocation[]> {
    return this.targetService.targets(ctx, portfolio);
  }

  @FieldResolver(() => RebalancePlan, { description: 'The market orders that reach the target allocations from the current value; none without targets.' })
  rebalancePlan(@Root() portfolio: Portfolio, @Args(() => RebalancePlanArgs) args: RebalancePlanArgs, @Ctx() ctx: RequestContext): Promise<RebalancePlan> {
    return this.targetService.plan(ctx, portfolio, args.minNotional);
  }
}
