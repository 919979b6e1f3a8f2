import { Args, Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import { SignalsPageArgs } from '../signal/signal.input';
import type { SignalService } from '../signal/signal.service';
import { SignalConnection } from '../signal/signal.type';
import { User } from './user.type';

@Resolver(() => User)
export class UserSignalsResolver {
  constructor(private readonly service: SignalService) {}

  @FieldResolver(() => SignalConnection, { description: 'Newest first. Only the user themself; FORBIDDEN for anyone else.' })
  signals(@Root() user: User, @Args(() => SignalsPageArgs) args: SignalsPageArgs, @Ctx() ctx: RequestContext): Promise<SignalConnection> {
    return this.service.ofUser(ctx, user.id, args);
  }
}
