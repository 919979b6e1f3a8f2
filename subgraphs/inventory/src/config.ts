import { readEnv, readSubgraphConfig, type SubgraphConfig } from '../../kit/src';

export const INVENTORY_DEFAULT_PORT = 4005;
export const DEFAULT_LOW_STOCK_THRESHOLD = 10;
export const DEFAULT_STOCK_MOVEMENTS_MAX_PAGE = 200;
export const DEFAULT_RESERVATION_TTL_SECONDS = 900;
export const DEFAULT_RESERVATION_SWEEP_SECONDS = 60;

/**
 * The kit's SubgraphConfig brings REDIS_URL and EVENTS_ENABLED / EVENTS_PREFIX / EVENTS_CONCURRENCY:
 * with events enabled the server runs the outbox relay, the consumer of events-inventory and the
 * reservation expiry worker.
 */
export interface InventoryConfig extends SubgraphConfig {
  /** Threshold given to a stock level that has none set yet (a good with no row, a row created by an adjustment). */
  lowStockDefaultThreshold: number;
  /** Largest `first` accepted by `stockMovements`. */
  stockMovementsMaxPage: number;
  /** Connections the ORM keeps to Postgres. */
  databasePoolSize: number;
  /** How long a reservation holds stock for an unpaid order before it expires. */
  reservationTtlSeconds: number;
  /** Period of the sweep that expires HELD reservations whose expiry job was lost; 0 turns it off. */
  reservationSweepSeconds: number;
}

/** Parses and validates the inventory subgraph's environment once; every problem is reported together. */
export function readInventoryConfig(env: Record<string, string | undefined> = process.env): InventoryConfig {
  const reader = readEnv(env);
  const config: InventoryConfig = {
    ...readSubgraphConfig('inventory', INVENTORY_DEFAULT_PORT, reader),
    lowStockDefaultThreshold: reader.int('LOW_STOCK_DEFAULT_THRESHOLD', DEFAULT_LOW_STOCK_THRESHOLD, { min: 0, max: 1_000_000 }),
    stockMovementsMaxPage: reader.int('STOCK_MOVEMENTS_MAX_PAGE', DEFAULT_STOCK_MOVEMENTS_MAX_PAGE, { min: 1, max: 10_000 }),
    databasePoolSize: reader.int('DATABASE_POOL_SIZE', 10, { min: 1, max: 100 }),
    reservationTtlSeconds: reader.int('RESERVATION_TTL_SECONDS', DEFAULT_RESERVATION_TTL_SECONDS, { min: 1, max: 7 * 24 * 3600 }),
    reservationSweepSeconds: reader.int('RESERVATION_SWEEP_SECONDS', DEFAULT_RESERVATION_SWEEP_SECONDS, { min: 0, max: 24 * 3600 }),
  };
  reader.done();
  return config;
}
