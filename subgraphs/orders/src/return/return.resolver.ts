import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, UseMiddleware, type MiddlewareFn } from 'type-graphql';
import { notFound, requireRole, requireViewer, type RequestContext } from '../../../kit/src';
import type { OrderService } from '../order/order.service';
import { Order } from '../order/order.type';
import { RejectReturnArgs, RequestReturnArgs, ReturnRequestsArgs } from './return.input';
import type { ReturnService } from './return.service';
import { OrderReturn } from './return.type';

const adminOnly: MiddlewareFn<RequestContext> = ({ context }, next) => {
  requireRole(context.viewer, 'ADMIN');
  return next();
};
const signedIn: MiddlewareFn<RequestContext> = ({ context }, next) => {
  requireViewer(context.viewer);
  return next();
};

@Resolver(() => OrderReturn)
export class ReturnResolver {
  constructor(
    private readonly service: ReturnService,
    private readonly orders: OrderService,
  ) {}

  @Mutation(() => OrderReturn, {
    description: 'The owner of a FULFILLED order asks to send goods back (CONFLICT before delivery; BAD_USER_INPUT for digital products or more units than bought).',
  })
  @UseMiddleware(signedIn)
  requestReturn(@Args(() => RequestReturnArgs) args: RequestReturnArgs, @Ctx() ctx: RequestContext): Promise<OrderReturn> {
    return this.service.request(ctx, args.orderId, args.lines, args.reason);
  }

  @Mutation(() => OrderReturn, { description: 'ADMIN: approves a REQUESTED return; a ReturnApproved event starts the refund and the restock.' })
  @UseMiddleware(adminOnly)
  approveReturn(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<OrderReturn> {
    return this.service.approve(ctx, id);
  }

  @Mutation(() => OrderReturn, { description: 'ADMIN: rejects a REQUESTED return.' })
  @UseMiddleware(adminOnly)
  rejectReturn(@Args(() => RejectReturnArgs) args: RejectReturnArgs, @Ctx() ctx: RequestContext): Promise<OrderReturn> {
    return this.service.reject(ctx, args.id, args.reason);
  }

  @Query(() => [OrderReturn], { description: 'ADMIN: returns by status (default REQUESTED), oldest first.' })
  @UseMiddleware(adminOnly)
  returnRequests(@Args(() => ReturnRequestsArgs) args: ReturnRequestsArgs, @Ctx() ctx: RequestContext): Promise<OrderReturn[]> {
    return this.service.list(ctx, args.status, args.first);
  }

  @FieldResolver(() => Order)
  async order(@Root() orderReturn: OrderReturn, @Ctx() ctx: RequestContext): Promise<Order> {
    // Whoever sees a return (its customer, ADMINs) sees its order.
    const order = await this.orders.reference(ctx, orderReturn.orderId);
    if (!order) throw notFound('Order', orderReturn.orderId);
    return order;
  }
}

@Resolver(() => Order)
export class OrderReturnsResolver {
  constructor(private readonly service: ReturnService) {}

  @FieldResolver(() => [OrderReturn], { description: 'Oldest first.' })
  returns(@Root() order: Order, @Ctx() ctx: RequestContext): Promise<OrderReturn[]> {
    return this.service.ofOrder(ctx, order.id);
  }
}
