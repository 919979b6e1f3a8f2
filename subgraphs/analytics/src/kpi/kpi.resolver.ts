import { Ctx, Query, Resolver, UseMiddleware } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import { adminOnly } from '../shared/access';
import type { KpiService } from './kpi.service';
import { Kpis } from './kpi.type';

@Resolver(() => Kpis)
export class KpiResolver {
  constructor(private readonly service: KpiService) {}

  @Query(() => Kpis, { description: 'ADMIN: headline figures of today, the last 24 hours and the last 30 days.' })
  @UseMiddleware(adminOnly)
  kpis(@Ctx() ctx: RequestContext): Promise<Kpis> {
    return this.service.kpis(ctx);
  }
}
