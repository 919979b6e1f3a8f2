import { Args, Ctx, Directive, FieldResolver, Mutation, Query, Resolver, Root, UseMiddleware, type MiddlewareFn } from 'type-graphql';
import { requireRole, type RequestContext } from '../../../kit/src';
import { Product } from './product.type';
import { AdjustStockArgs, SetLowStockThresholdArgs, StockMovementsArgs } from './stock.input';
import type { StockService } from './stock.service';
import { StockLevel, StockMovement } from './stock.type';

/** Checks the role before arguments are validated, so an anonymous caller learns nothing about inputs. */
const adminOnly: MiddlewareFn<RequestContext> = ({ context }, next) => {
  requireRole(context.viewer, 'ADMIN');
  return next();
};

@Resolver(() => StockLevel)
export class StockResolver {
  constructor(private readonly service: StockService) {}

  @Mutation(() => StockLevel, { description: 'Admin: add (positive delta) or remove units; refused when it would leave available below 0.' })
  @UseMiddleware(adminOnly)
  adjustStock(@Args(() => AdjustStockArgs) args: AdjustStockArgs, @Ctx() ctx: RequestContext): Promise<StockLevel> {
    return this.service.adjust(ctx, args);
  }

  @Mutation(() => StockLevel, { description: 'Admin: the availability at or below which a LowStock event is emitted.' })
  @UseMiddleware(adminOnly)
  setLowStockThreshold(@Args(() => SetLowStockThresholdArgs) args: SetLowStockThresholdArgs, @Ctx() ctx: RequestContext): Promise<StockLevel> {
    return this.service.setLowStockThreshold(ctx, args.productId, args.threshold);
  }

  @Query(() => [StockMovement], { description: 'Admin: the stock ledger of a product, newest first.' })
  @UseMiddleware(adminOnly)
  stockMovements(@Args(() => StockMovementsArgs) args: StockMovementsArgs, @Ctx() ctx: RequestContext): Promise<StockMovement[]> {
    return this.service.movements(ctx, args.productId, args.first);
  }
}

@Resolver(() => Product)
export class ProductStockResolver {
  constructor(private readonly service: StockService) {}

  @FieldResolver(() => StockLevel, { nullable: true, description: 'Null for kinds sold without a stock limit (INDICATOR, PLAN).' })
  @Directive('@requires(fields: "kind")')
  stock(@Root() product: Product, @Ctx() ctx: RequestContext): Promise<StockLevel | null> {
    return this.service.stockOf(ctx, product);
  }
}
