import { Args, Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import { SignalsPageArgs } from '../signal/signal.input';
import type { SignalService } from '../signal/signal.service';
import { SignalConnection } from '../signal/signal.type';
import { Instrument } from './instrument.type';

@Resolver(() => Instrument)
export class InstrumentSignalsResolver {
  constructor(private readonly service: SignalService) {}

  @FieldResolver(() => SignalConnection, { description: 'The viewer\'s own signals on this instrument, newest first; UNAUTHENTICATED when signed out.' })
  signals(@Root() instrument: Instrument, @Args(() => SignalsPageArgs) args: SignalsPageArgs, @Ctx() ctx: RequestContext): Promise<SignalConnection> {
    return this.service.onInstrument(ctx, instrument.symbol, args);
  }
}
