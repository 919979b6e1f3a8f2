import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import type { PortfolioService } from '../portfolio/portfolio.service';
import { Portfolio } from '../portfolio/portfolio.type';
import { User } from './user.type';

@Resolver(() => User)
export class UserPortfolioResolver {
  constructor(private readonly portfolios: PortfolioService) {}

  @FieldResolver(() => Portfolio, { nullable: true, description: 'Only the user themself and ADMINs; FORBIDDEN for anyone else, UNAUTHENTICATED when signed out.' })
  portfolio(@Root() user: User, @Ctx() ctx: RequestContext): Promise<Portfolio> {
    return this.portfolios.ofUser(ctx, user.id);
  }
}
