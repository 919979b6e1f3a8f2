import { Arg, Ctx, Int, Query, Resolver, UseMiddleware } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import { adminOnly } from '../shared/access';
import type { LowStockService } from './low-stock.service';
import { LowStockAlert } from './low-stock.type';

@Resolver(() => LowStockAlert)
export class LowStockResolver {
  constructor(private readonly alerts: LowStockService) {}

  @Query(() => [LowStockAlert], { description: 'ADMIN: the latest low-stock alerts, newest first.' })
  @UseMiddleware(adminOnly)
  lowStockAlerts(@Arg('first', () => Int, { defaultValue: 20, description: 'How many (1 to LOW_STOCK_ALERTS_MAX_PAGE).' }) first: number, @Ctx() ctx: RequestContext): Promise<LowStockAlert[]> {
    return this.alerts.latest(ctx, first);
  }
}
