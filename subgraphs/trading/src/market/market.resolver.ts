import type { GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import { Arg, Args, Ctx, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import { Candle, Instrument, instrumentOfMessage, type PriceMessage } from './instrument.type';
import { CandlesArgs, MAX_SUBSCRIBED_SYMBOLS } from './market.input';
import type { MarketService } from './market.service';

/**
 * type-graphql's `subscribe` option gets no resolver instance, and one process may serve several
 * schemas (tests run two servers): each schema is bound to its own service here.
 */
const servicesBySchema = new WeakMap<GraphQLSchema, MarketService>();

export function bindMarketService(schema: GraphQLSchema, service: MarketService): void {
  servicesBySchema.set(schema, service);
}

function serviceFor(info: GraphQLResolveInfo): MarketService {
  const service = servicesBySchema.get(info.schema);
  if (!service) throw new Error('no market service is bound to this schema');
  return service;
}

@Resolver(() => Instrument)
export class MarketResolver {
  constructor(private readonly service: MarketService) {}

  @Query(() => [Instrument], { description: 'Every instrument, by symbol.' })
  instruments(@Ctx() ctx: RequestContext): Promise<Instrument[]> {
    return this.service.instruments(ctx);
  }

  @Query(() => Instrument, { nullable: true, description: 'Null for an unknown symbol.' })
  instrument(@Arg('symbol', () => String, { description: 'ccxt unified symbol, e.g. BTC/USDT.' }) symbol: string, @Ctx() ctx: RequestContext): Promise<Instrument | null> {
    return this.service.instrument(ctx, symbol);
  }

  @Query(() => [Candle], {
    description: 'OHLCV candles opening in [from, to), oldest first, at most 1000. BAD_USER_INPUT for a bad timeframe or range, NOT_FOUND for an unknown symbol.',
  })
  candles(@Args(() => CandlesArgs) args: CandlesArgs, @Ctx() ctx: RequestContext): Promise<Candle[]> {
    return this.service.candles(ctx, args);
  }

  @Subscription(() => Instrument, {
    description: `Live prices of 1 to ${MAX_SUBSCRIBED_SYMBOLS} instruments (BAD_USER_INPUT otherwise). A client that falls behind gets each symbol's latest price, not a backlog.`,
    subscribe: ({ args, context, info }: SubscribeResolverData<unknown, { symbols: string[] }, RequestContext>) =>
      serviceFor(info).priceStream(context, args.symbols),
  })
  priceUpdated(@Root() message: PriceMessage, @Arg('symbols', () => [String]) _symbols: string[]): Instrument {
    return instrumentOfMessage(message);
  }
}
