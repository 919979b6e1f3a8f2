import { readEnv, readSubgraphConfig, type SubgraphConfig } from '../../kit/src';

export const INVENTORY_DEFAULT_PORT = 4005;
export const DEFAULT_LOW_STOCK_THRESHOLD = 10;
export const DEFAULT_STOCK_MOVEMENTS_MAX_PAGE = 200;

export interface InventoryConfig extends SubgraphConfig {
  /** Threshold given to a stock level that has none set yet (a good with no row, a row created by an adjustment). */
  lowStockDefaultThreshold: number;
  /** Largest `first` accepted by `stockMovements`. */
  stockMovementsMaxPage: number;
  /** Connections the ORM keeps to Postgres. */
  databasePoolSize: number;
}

/** Parses and validates the inventory subgraph's environment once; every problem is reported together. */
export function readInventoryConfig(env: Record<string, string | undefined> = process.env): InventoryConfig {
  const reader = readEnv(env);
  const config: InventoryConfig = {
    ...readSubgraphConfig('inventory', INVENTORY_DEFAULT_PORT, reader),
    lowStockDefaultThreshold: reader.int('LOW_STOCK_DEFAULT_THRESHOLD', DEFAULT_LOW_STOCK_THRESHOLD, { min: 0, max: 1_000_000 }),
    stockMovementsMaxPage: reader.int('STOCK_MOVEMENTS_MAX_PAGE', DEFAULT_STOCK_MOVEMENTS_MAX_PAGE, { min: 1, max: 10_000 }),
    databasePoolSize: reader.int('DATABASE_POOL_SIZE', 10, { min: 1, max: 100 }),
  };
  reader.done();
  return config;
}
