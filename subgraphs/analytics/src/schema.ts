import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '../../kit/src';
import { DEFAULT_LOW_STOCK_ALERTS_MAX_PAGE, DEFAULT_REPORT_CURRENCY, DEFAULT_REPORT_MAX_DAYS } from './config';
import { KpiResolver } from './kpi/kpi.resolver';
import { KpiService } from './kpi/kpi.service';
import { productReferences } from './sales/product.reference';
import { ProductSalesResolver, SalesResolver } from './sales/sales.resolver';
import { SalesService } from './sales/sales.service';
import { LowStockResolver } from './stock/low-stock.resolver';
import { LowStockService } from './stock/low-stock.service';
import { UserTradingResolver } from './trading/trading.resolver';
import { TradingStatsService } from './trading/trading.service';
import { userReferences } from './trading/user.reference';
import { User } from './trading/user.type';

export interface AnalyticsSchemaOptions {
  reportDefaultCurrency: string;
  reportMaxDays: number;
  lowStockAlertsMaxPage: number;
  /** What "now" is for the KPIs (tests pin it). */
  clock: () => Date;
}

/** The analytics subgraph's schema; options come from the config (defaults when printing SDL). */
export async function buildAnalyticsSchema(options: Partial<AnalyticsSchemaOptions> = {}): Promise<GraphQLSchema> {
  const sales = new SalesService({
    reportDefaultCurrency: options.reportDefaultCurrency ?? DEFAULT_REPORT_CURRENCY,
    reportMaxDays: options.reportMaxDays ?? DEFAULT_REPORT_MAX_DAYS,
  });
  const instances = new Map<Function, unknown>([
    [SalesResolver, new SalesResolver(sales)],
    [ProductSalesResolver, new ProductSalesResolver(sales)],
    [KpiResolver, new KpiResolver(new KpiService(options.clock))],
    [LowStockResolver, new LowStockResolver(new LowStockService({ maxPage: options.lowStockAlertsMaxPage ?? DEFAULT_LOW_STOCK_ALERTS_MAX_PAGE }))],
    [UserTradingResolver, new UserTradingResolver(new TradingStatsService())],
  ]);
  return buildFederatedSchema(
    {
      resolvers: [SalesResolver, ProductSalesResolver, KpiResolver, LowStockResolver, UserTradingResolver],
      // Reached only through the router (`_entities`), never from this subgraph's own root fields.
      orphanedTypes: [User],
      container: {
        get: (type: new () => unknown) => {
          const instance = instances.get(type);
          if (!instance) throw new Error(`analytics schema has no instance for ${type.name}`);
          return instance;
        },
      },
    },
    { ...productReferences, ...userReferences },
  );
}
