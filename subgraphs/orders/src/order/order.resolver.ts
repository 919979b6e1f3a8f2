import type { GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import {
  Arg,
  Args,
  Ctx,
  FieldResolver,
  ID,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
  UseMiddleware,
  type MiddlewareFn,
  type SubscribeResolverData,
} from 'type-graphql';
import { LoaderCache, requireRole, requireViewer, type RequestContext } from '../../../kit/src';
import { User } from '../user/user.type';
import { CheckoutInput, ShipOrderArgs } from './order.input';
import type { OrderService } from './order.service';
import { Order, OrderHistoryEntry, OrderLine } from './order.type';
import type { OrderUpdateMessage, OrderUpdates } from './order.updates';

/**
 * type-graphql's `subscribe` option gets no resolver instance, and one process may serve several
 * schemas (tests run several servers): each schema is bound to its own OrderUpdates here.
 */
const updatesBySchema = new WeakMap<GraphQLSchema, OrderUpdates>();

export function bindOrderUpdates(schema: GraphQLSchema, updates: OrderUpdates): void {
  updatesBySchema.set(schema, updates);
}

function updatesFor(info: GraphQLResolveInfo): OrderUpdates {
  const updates = updatesBySchema.get(info.schema);
  if (!updates) throw new Error('no order updates are bound to this schema');
  return updates;
}

/** Checks the role before arguments are validated, so an anonymous caller learns nothing about inputs. */
const adminOnly: MiddlewareFn<RequestContext> = ({ context }, next) => {
  requireRole(context.viewer, 'ADMIN');
  return next();
};
const signedIn: MiddlewareFn<RequestContext> = ({ context }, next) => {
  requireViewer(context.viewer);
  return next();
};

@Resolver(() => Order)
export class OrderResolver {
  constructor(private readonly service: OrderService) {}

  @Query(() => Order, { nullable: true, description: 'The owner or an ADMIN; NOT_FOUND for anyone else.' })
  @UseMiddleware(signedIn)
  order(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<Order> {
    return this.service.order(ctx, id);
  }

  @Mutation(() => Order, {
    description:
      'Places a PENDING order from the cart at current catalog prices and empties the cart. The same idempotencyKey returns the same order. ' +
      'BAD_USER_INPUT for an empty cart, products no longer for sale or mixed currencies.',
  })
  @UseMiddleware(signedIn)
  checkout(@Arg('input', () => CheckoutInput) input: CheckoutInput, @Ctx() ctx: RequestContext): Promise<Order> {
    return this.service.checkout(ctx, input);
  }

  @Mutation(() => Order, { description: 'The owner, before payment (PENDING or AWAITING_PAYMENT); CONFLICT afterwards.' })
  @UseMiddleware(signedIn)
  cancelOrder(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<Order> {
    return this.service.cancel(ctx, id);
  }

  @Mutation(() => Order, { description: 'ADMIN: a PAID order with goods is SHIPPED.' })
  @UseMiddleware(adminOnly)
  shipOrder(@Args(() => ShipOrderArgs) args: ShipOrderArgs, @Ctx() ctx: RequestContext): Promise<Order> {
    return this.service.ship(ctx, args.id, args.trackingNumber);
  }

  @Mutation(() => Order, { description: 'ADMIN: a SHIPPED order arrived; history records DELIVERED and the order is FULFILLED.' })
  @UseMiddleware(adminOnly)
  markDelivered(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<Order> {
    return this.service.markDelivered(ctx, id);
  }

  @Subscription(() => Order, {
    description:
      'The order now, then again after every status change, in order. Its owner or an ADMIN: UNAUTHENTICATED when signed out, ' +
      'FORBIDDEN for anyone else, NOT_FOUND for an unknown order.',
    subscribe: ({ args, context, info }: SubscribeResolverData<unknown, { orderId: string }, RequestContext>) => updatesFor(info).stream(context, args.orderId),
  })
  orderUpdated(@Root() message: OrderUpdateMessage, @Arg('orderId', () => ID) _orderId: string, @Ctx() ctx: RequestContext): Promise<Order> {
    // The context lives as long as the subscription: every event reads afresh (no identity map, no cached loaders).
    ctx.em = ctx.em.fork();
    ctx.loaders = new LoaderCache();
    return this.service.current(ctx, message.orderId);
  }

  @FieldResolver(() => [OrderLine])
  lines(@Root() order: Order, @Ctx() ctx: RequestContext): Promise<OrderLine[]> {
    return this.service.lines(ctx, order.id);
  }

  @FieldResolver(() => [OrderHistoryEntry], { description: 'Oldest first.' })
  history(@Root() order: Order, @Ctx() ctx: RequestContext): Promise<OrderHistoryEntry[]> {
    return this.service.history(ctx, order.id);
  }

  @FieldResolver(() => User, { nullable: true })
  user(@Root() order: Order): User {
    return { id: order.userId };
  }
}
