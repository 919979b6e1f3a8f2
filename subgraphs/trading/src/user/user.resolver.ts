import { Args, Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import { TradeOrdersArgs } from '../orders/trade-order.input';
import type { TradeOrderService } from '../orders/trade-order.service';
import { TradeOrderConnection } from '../orders/trade-order.type';
import { User } from './user.type';

@Resolver(() => User)
export class UserTradeOrdersResolver {
  constructor(private readonly orders: TradeOrderService) {}

  @FieldResolver(() => TradeOrderConnection, { description: 'Newest first. Only the user themself; FORBIDDEN for anyone else.' })
  tradeOrders(@Root() user: User, @Args(() => TradeOrdersArgs) args: TradeOrdersArgs, @Ctx() ctx: RequestContext): Promise<TradeOrderConnection> {
    return this.orders.list(ctx, user.id, args);
  }
}
