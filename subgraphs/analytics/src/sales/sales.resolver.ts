import { Args, Ctx, FieldResolver, Query, Resolver, Root, UseMiddleware } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import { adminOnly } from '../shared/access';
import { Product } from './product.type';
import { SalesReportArgs } from './sales.input';
import type { SalesService } from './sales.service';
import { ProductSalesStats, SalesReport } from './sales.type';

@Resolver(() => SalesReport)
export class SalesResolver {
  constructor(private readonly sales: SalesService) {}

  @Query(() => SalesReport, { description: 'ADMIN: sales of one currency over whole UTC days (payments and refunds when they happened).' })
  @UseMiddleware(adminOnly)
  salesReport(@Args(() => SalesReportArgs) args: SalesReportArgs, @Ctx() ctx: RequestContext): Promise<SalesReport> {
    return this.sales.report(ctx, args);
  }
}

@Resolver(() => Product)
export class ProductSalesResolver {
  constructor(private readonly sales: SalesService) {}

  /** ADMIN only: units and revenue per product are commercially sensitive (they give away margins and what other customers buy). */
  @FieldResolver(() => ProductSalesStats, { nullable: true, description: 'ADMIN only (sales figures are commercially sensitive); FORBIDDEN for anyone else.' })
  salesStats(@Root() product: Product, @Ctx() ctx: RequestContext): Promise<ProductSalesStats> {
    return this.sales.statsOf(ctx, product.id);
  }
}
