import { Args, Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import { Cart } from '../cart/cart.type';
import type { CartService, CartView } from '../cart/cart.service';
import { OrdersPageArgs } from '../order/order.input';
import type { OrderService } from '../order/order.service';
import { OrderConnection } from '../order/order.type';
import { User } from './user.type';

@Resolver(() => User)
export class UserOrdersResolver {
  constructor(
    private readonly orderService: OrderService,
    private readonly cartService: CartService,
  ) {}

  @FieldResolver(() => OrderConnection, { description: 'Newest first. Only the user themself and ADMINs; FORBIDDEN for anyone else.' })
  orders(@Root() user: User, @Args(() => OrdersPageArgs) args: OrdersPageArgs, @Ctx() ctx: RequestContext): Promise<OrderConnection> {
    return this.orderService.ordersOf(ctx, user.id, args.first, args.after);
  }

  @FieldResolver(() => Cart, { nullable: true, description: 'Only for the user themself; null for anyone else.' })
  cart(@Root() user: User, @Ctx() ctx: RequestContext): Promise<CartView | null> {
    return this.cartService.userCart(ctx, user.id);
  }
}
