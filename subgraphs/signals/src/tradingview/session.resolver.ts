import { Arg, Ctx, Mutation, Query, Resolver, UseMiddleware, type MiddlewareFn } from 'type-graphql';
import { requireViewer, type RequestContext } from '../../../kit/src';
import { SetTradingViewSessionInput } from './session.input';
import type { TradingViewSessionService } from './session.service';
import { TradingViewSession } from './session.type';

const signedIn: MiddlewareFn<RequestContext> = ({ context }, next) => {
  requireViewer(context.viewer);
  return next();
};

@Resolver(() => TradingViewSession)
export class TradingViewSessionResolver {
  constructor(private readonly service: TradingViewSessionService) {}

  @Query(() => TradingViewSession, { description: 'The viewer\'s TradingView session (no cookie values).' })
  @UseMiddleware(signedIn)
  tradingViewSession(@Ctx() ctx: RequestContext): Promise<TradingViewSession> {
    return this.service.get(ctx);
  }

  @Mutation(() => TradingViewSession, { description: 'Stores the viewer\'s TradingView session cookies, sealed, so screenshots show their own chart. BAD_USER_INPUT when sessionid or sessionid_sign is missing or malformed.' })
  @UseMiddleware(signedIn)
  setTradingViewSession(@Arg('input', () => SetTradingViewSessionInput) input: SetTradingViewSessionInput, @Ctx() ctx: RequestContext): Promise<TradingViewSession> {
    return this.service.set(ctx, input);
  }

  @Mutation(() => TradingViewSession, { description: 'Deletes the viewer\'s TradingView session; screenshots use Mercado\'s chart again.' })
  @UseMiddleware(signedIn)
  clearTradingViewSession(@Ctx() ctx: RequestContext): Promise<TradingViewSession> {
    return this.service.clear(ctx);
  }
}
