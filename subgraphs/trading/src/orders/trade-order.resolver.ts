import type { GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, Subscription, UseMiddleware, type SubscribeResolverData } from 'type-graphql';
import { LoaderCache, requireViewer, type RequestContext } from '../../../kit/src';
import { signedIn } from '../accounts/account.resolver';
import { accountById } from '../accounts/account.service';
import { ExchangeAccount, toExchangeAccount } from '../accounts/account.type';
import { Instrument, toInstrument } from '../market/instrument.type';
import { instrumentBySymbol } from '../market/market.service';
import { User } from '../user/user.type';
import { PlaceTradeOrderInput, TradeOrdersArgs } from './trade-order.input';
import type { TradeOrderService } from './trade-order.service';
import { Fill, TradeOrder, TradeOrderConnection, TradeOrderHistoryEntry } from './trade-order.type';
import type { TradeOrderUpdateMessage, TradeOrderUpdates } from './trade-order.updates';

/**
 * type-graphql's `subscribe` option gets no resolver instance, and one process may serve several
 * schemas (tests run several servers): each schema is bound to its own TradeOrderUpdates here.
 */
const updatesBySchema = new WeakMap<GraphQLSchema, TradeOrderUpdates>();

export function bindTradeOrderUpdates(schema: GraphQLSchema, updates: TradeOrderUpdates): void {
  updatesBySchema.set(schema, updates);
}

function updatesFor(info: GraphQLResolveInfo): TradeOrderUpdates {
  const updates = updatesBySchema.get(info.schema);
  if (!updates) throw new Error('no trade order updates are bound to this schema');
  return updates;
}

@Resolver(() => TradeOrder)
export class TradeOrderResolver {
  constructor(private readonly service: TradeOrderService) {}

  @Query(() => TradeOrder, { description: 'One of your trade orders; NOT_FOUND for anyone else\'s.' })
  @UseMiddleware(signedIn)
  tradeOrder(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<TradeOrder> {
    return this.service.order(ctx, id);
  }

  @Query(() => TradeOrderConnection, { description: 'Your trade orders, newest first.' })
  @UseMiddleware(signedIn)
  tradeOrders(@Args(() => TradeOrdersArgs) args: TradeOrdersArgs, @Ctx() ctx: RequestContext): Promise<TradeOrderConnection> {
    return this.service.list(ctx, requireViewer(ctx.viewer).id, args);
  }

  @Mutation(() => TradeOrder, {
    description:
      'Places an order on one of your accounts. The same clientOrderId again returns the first order (CONFLICT if it differs). Refused with nothing ' +
      'stored or sent: BAD_USER_INPUT (fields the type needs, decimals, a stop already reached), RISK_LIMIT (max notional per order, max position ' +
      'per instrument, daily loss limit; details carry rule, limit and value), INSUFFICIENT_BALANCE (paper funds). A real exchange refusing it ' +
      'answers a REJECTED order with its reason.',
  })
  @UseMiddleware(signedIn)
  placeTradeOrder(@Arg('input', () => PlaceTradeOrderInput) input: PlaceTradeOrderInput, @Ctx() ctx: RequestContext): Promise<TradeOrder> {
    return this.service.place(ctx, input);
  }

  @Mutation(() => TradeOrder, { description: 'Cancels one of your live orders (an OCO leg cancels its pair); reserved funds go back. CONFLICT once it ended.' })
  @UseMiddleware(signedIn)
  cancelTradeOrder(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<TradeOrder> {
    return this.service.cancel(ctx, id);
  }

  @Subscription(() => TradeOrder, {
    description:
      'Your trade orders as they change: with orderId, that order now and after every change; without, every change of any of your orders. ' +
      'UNAUTHENTICATED when signed out, NOT_FOUND for an order that is not yours.',
    subscribe: ({ args, context, info }: SubscribeResolverData<unknown, { orderId?: string | null }, RequestContext>) => updatesFor(info).stream(context, args.orderId),
  })
  tradeOrderUpdated(
    @Root() message: TradeOrderUpdateMessage,
    @Arg('orderId', () => ID, { nullable: true }) _orderId: string | null,
    @Ctx() ctx: RequestContext,
  ): Promise<TradeOrder> {
    // The context lives as long as the subscription: every event reads afresh.
    ctx.em = ctx.em.fork();
    ctx.loaders = new LoaderCache();
    return this.service.current(ctx, message.orderId);
  }

  @FieldResolver(() => ExchangeAccount)
  async account(@Root() order: TradeOrder, @Ctx() ctx: RequestContext): Promise<ExchangeAccount> {
    return toExchangeAccount((await accountById(ctx).load(order.accountId))!);
  }

  @FieldResolver(() => Instrument, { nullable: true })
  async instrument(@Root() order: TradeOrder, @Ctx() ctx: RequestContext): Promise<Instrument | null> {
    const row = await instrumentBySymbol(ctx).load(order.symbol);
    return row ? toInstrument(row) : null;
  }

  @FieldResolver(() => [Fill], { description: 'Oldest first.' })
  fills(@Root() order: TradeOrder, @Ctx() ctx: RequestContext): Promise<Fill[]> {
    return this.service.fills(ctx, order.id);
  }

  @FieldResolver(() => [TradeOrderHistoryEntry], { description: 'Oldest first.' })
  history(@Root() order: TradeOrder, @Ctx() ctx: RequestContext): Promise<TradeOrderHistoryEntry[]> {
    return this.service.history(ctx, order.id);
  }

  @FieldResolver(() => [TradeOrder], { description: 'The take-profit and stop-loss legs this order placed when it filled.' })
  exitOrders(@Root() order: TradeOrder, @Ctx() ctx: RequestContext): Promise<TradeOrder[]> {
    return this.service.exitOrders(ctx, order.id);
  }

  @FieldResolver(() => User)
  user(@Root() order: TradeOrder): User {
    return { id: order.userId };
  }
}
