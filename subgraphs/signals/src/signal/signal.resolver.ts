import type { GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, Subscription, UseMiddleware, type MiddlewareFn, type SubscribeResolverData } from 'type-graphql';
import { LoaderCache, requireViewer, type RequestContext } from '../../../kit/src';
import type { EndpointService } from '../endpoint/endpoint.service';
import { WebhookEndpoint } from '../endpoint/endpoint.type';
import { Instrument } from '../instrument/instrument.type';
import { User } from '../user/user.type';
import { MarkSignalResultArgs, SignalsPageArgs } from './signal.input';
import type { SignalService } from './signal.service';
import { Signal, SignalConnection, SignalScreenshot, SignalStats } from './signal.type';
import type { SignalMessage, SignalUpdates } from './signal.updates';

/**
 * type-graphql's `subscribe` option gets no resolver instance, and one process may serve several
 * schemas (tests run several servers): each schema is bound to its own SignalUpdates here.
 */
const updatesBySchema = new WeakMap<GraphQLSchema, SignalUpdates>();

export function bindSignalUpdates(schema: GraphQLSchema, updates: SignalUpdates): void {
  updatesBySchema.set(schema, updates);
}

function updatesFor(info: GraphQLResolveInfo): SignalUpdates {
  const updates = updatesBySchema.get(info.schema);
  if (!updates) throw new Error('no signal updates are bound to this schema');
  return updates;
}

const signedIn: MiddlewareFn<RequestContext> = ({ context }, next) => {
  requireViewer(context.viewer);
  return next();
};

/** A subscription's context lives as long as it does: every message reads afresh. */
function fresh(ctx: RequestContext): RequestContext {
  ctx.em = ctx.em.fork();
  ctx.loaders = new LoaderCache();
  return ctx;
}

@Resolver(() => Signal)
export class SignalResolver {
  constructor(
    private readonly service: SignalService,
    private readonly endpoints: EndpointService,
  ) {}

  @Query(() => SignalConnection, { description: 'The viewer\'s signals, newest first.' })
  @UseMiddleware(signedIn)
  signals(@Args(() => SignalsPageArgs) args: SignalsPageArgs, @Ctx() ctx: RequestContext): Promise<SignalConnection> {
    return this.service.list(ctx, args);
  }

  @Query(() => Signal, { description: 'One of the viewer\'s signals; NOT_FOUND for an unknown id and another user\'s alike.' })
  @UseMiddleware(signedIn)
  signal(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<Signal> {
    return this.service.one(ctx, id);
  }

  @Query(() => SignalStats, { description: 'The viewer\'s signal figures and quota.' })
  @UseMiddleware(signedIn)
  signalStats(@Ctx() ctx: RequestContext): Promise<SignalStats> {
    return this.service.stats(ctx);
  }

  @Mutation(() => Signal, { description: 'The owner sets the result by hand (PENDING reopens it) and replaces the notes.' })
  @UseMiddleware(signedIn)
  markSignalResult(@Args(() => MarkSignalResultArgs) args: MarkSignalResultArgs, @Ctx() ctx: RequestContext): Promise<Signal> {
    return this.service.markResult(ctx, args.id, args.result, args.notes);
  }

  @Subscription(() => Signal, {
    description: 'Every new signal of the viewer, once stored. UNAUTHENTICATED when signed out.',
    subscribe: ({ context, info }: SubscribeResolverData<unknown, Record<string, never>, RequestContext>) => updatesFor(info).receivedStream(context),
  })
  signalReceived(@Root() message: SignalMessage, @Ctx() ctx: RequestContext): Promise<Signal> {
    return this.service.current(fresh(ctx), message.signalId);
  }

  @Subscription(() => Signal, {
    description: 'The viewer\'s signals (or the one given) again after each change: screenshot taken or failed, result set. NOT_FOUND for a signal not the viewer\'s.',
    subscribe: ({ args, context, info }: SubscribeResolverData<unknown, { id?: string | null }, RequestContext>) => updatesFor(info).updatedStream(context, args.id),
  })
  signalUpdated(@Root() message: SignalMessage, @Arg('id', () => ID, { nullable: true }) _id: string | null, @Ctx() ctx: RequestContext): Promise<Signal> {
    return this.service.current(fresh(ctx), message.signalId);
  }

  @FieldResolver(() => SignalScreenshot)
  screenshot(@Root() signal: Signal): SignalScreenshot {
    return this.service.screenshot(signal);
  }

  @FieldResolver(() => WebhookEndpoint, { nullable: true, description: 'The endpoint it arrived on.' })
  endpoint(@Root() signal: Signal, @Ctx() ctx: RequestContext): Promise<WebhookEndpoint | null> {
    return this.endpoints.forViewer(ctx, signal.endpointId);
  }

  @FieldResolver(() => User)
  user(@Root() signal: Signal): User {
    return { id: signal.userId };
  }

  @FieldResolver(() => Instrument, { nullable: true, description: 'trading\'s instrument of the symbol; null when trading does not list it.' })
  instrument(@Root() signal: Signal): Instrument {
    return { symbol: signal.symbol };
  }
}
