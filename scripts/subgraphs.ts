import type { GraphQLSchema } from 'graphql';
import { buildAnalyticsSchema } from '../subgraphs/analytics/src/schema';
import { buildCatalogSchema } from '../subgraphs/catalog/src/schema';
import { buildInventorySchema } from '../subgraphs/inventory/src/schema';
import { buildOrdersSchema } from '../subgraphs/orders/src/schema';
import { buildPaymentsSchema } from '../subgraphs/payments/src/schema';
import { buildPortfolioSchema } from '../subgraphs/portfolio/src/schema';
import { buildSignalsSchema } from '../subgraphs/signals/src/schema';
import { buildTradingSchema } from '../subgraphs/trading/src/schema';
import { buildUsersSchema } from '../subgraphs/users/src/schema';

/** Every subgraph this repository builds, with the code that produces its schema. */
export const SUBGRAPH_SCHEMAS: Record<string, () => Promise<GraphQLSchema>> = {
  users: () => buildUsersSchema(),
  catalog: () => buildCatalogSchema(),
  orders: () => buildOrdersSchema(),
  payments: () => buildPaymentsSchema(),
  inventory: () => buildInventorySchema(),
  trading: () => buildTradingSchema(),
  portfolio: () => buildPortfolioSchema(),
  signals: () => buildSignalsSchema(),
  analytics: () => buildAnalyticsSchema(),
};
