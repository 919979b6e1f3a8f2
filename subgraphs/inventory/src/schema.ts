import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '../../kit/src';
import { DEFAULT_LOW_STOCK_THRESHOLD, DEFAULT_STOCK_MOVEMENTS_MAX_PAGE } from './config';
import { Product } from './stock/product.type';
import { productReferences } from './stock/product.reference';
import { ProductStockResolver, StockResolver } from './stock/stock.resolver';
import { StockService, type StockServiceOptions } from './stock/stock.service';

/** The inventory subgraph's schema; options come from the config (defaults when printing SDL). */
export async function buildInventorySchema(options: Partial<StockServiceOptions> = {}): Promise<GraphQLSchema> {
  const service = new StockService({
    lowStockDefaultThreshold: options.lowStockDefaultThreshold ?? DEFAULT_LOW_STOCK_THRESHOLD,
    stockMovementsMaxPage: options.stockMovementsMaxPage ?? DEFAULT_STOCK_MOVEMENTS_MAX_PAGE,
  });
  const instances = new Map<Function, unknown>([
    [StockResolver, new StockResolver(service)],
    [ProductStockResolver, new ProductStockResolver(service)],
  ]);
  return buildFederatedSchema(
    {
      resolvers: [StockResolver, ProductStockResolver],
      orphanedTypes: [Product],
      container: {
        get: (type: new () => unknown) => {
          const instance = instances.get(type);
          if (!instance) throw new Error(`inventory schema has no instance for ${type.name}`);
          return instance;
        },
      },
    },
    productReferences,
  );
}
