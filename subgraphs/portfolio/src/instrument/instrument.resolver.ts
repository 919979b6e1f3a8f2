import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import { Holding } from '../holding/holding.type';
import type { PortfolioService } from '../portfolio/portfolio.service';
import { Instrument } from './instrument.type';

@Resolver(() => Instrument)
export class InstrumentPositionResolver {
  constructor(private readonly portfolios: PortfolioService) {}

  @FieldResolver(() => Holding, {
    nullable: true,
    description: "The signed-in user's holding of this instrument's base asset (quantity 0 once sold out); null when signed out or never held.",
  })
  position(@Root() instrument: Instrument, @Ctx() ctx: RequestContext): Promise<Holding | null> {
    return this.portfolios.position(ctx, instrument.symbol);
  }
}
