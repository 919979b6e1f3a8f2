import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import type { TradingStatsService } from './trading.service';
import { TradingStats } from './trading.type';
import { User } from './user.type';

@Resolver(() => User)
export class UserTradingResolver {
  constructor(private readonly trading: TradingStatsService) {}

  @FieldResolver(() => [TradingStats], {
    nullable: true,
    description: 'Fills, volume and fees per quote currency. Only the user themself and ADMINs; FORBIDDEN for anyone else, UNAUTHENTICATED when signed out.',
  })
  tradingStats(@Root() user: User, @Ctx() ctx: RequestContext): Promise<TradingStats[]> {
    return this.trading.statsOf(ctx, user.id);
  }
}
