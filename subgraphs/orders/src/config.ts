import { ConfigError, readEnv, readSubgraphConfig, type SubgraphConfig } from '../../kit/src';

export const ORDERS_DEFAULT_PORT = 4003;
export const DEFAULT_CURRENCY = 'USD';
export const DEFAULT_CART_MAX_LINES = 50;
export const DEFAULT_ORDERS_MAX_PAGE = 100;

export interface OrdersConfig extends SubgraphConfig {
  /** Connections the ORM keeps to Postgres. */
  databasePoolSize: number;
  /** Currency of an empty cart's zero total. */
  defaultCurrency: string;
  /** Most distinct products in one cart. */
  cartMaxLines: number;
  /** Largest `first` accepted by `User.orders`. */
  ordersMaxPage: number;
  /** Redis channel prefix of the subscription pub/sub (`orderUpdated`); every replica of one deployment uses the same. */
  pubsubPrefix: string;
}

/** Parses and validates the orders subgraph's environment once; every problem is reported together. */
export function readOrdersConfig(env: Record<string, string | undefined> = process.env): OrdersConfig {
  const reader = readEnv(env);
  const defaultCurrency = reader.string('DEFAULT_CURRENCY', DEFAULT_CURRENCY);
  const config: OrdersConfig = {
    ...readSubgraphConfig('orders', ORDERS_DEFAULT_PORT, reader),
    databasePoolSize: reader.int('DATABASE_POOL_SIZE', 10, { min: 1, max: 100 }),
    defaultCurrency,
    cartMaxLines: reader.int('CART_MAX_LINES', DEFAULT_CART_MAX_LINES, { min: 1, max: 500 }),
    ordersMaxPage: reader.int('ORDERS_MAX_PAGE', DEFAULT_ORDERS_MAX_PAGE, { min: 1, max: 500 }),
    pubsubPrefix: reader.string('PUBSUB_PREFIX', 'mercado:pubsub:'),
  };
  const problems: string[] = [];
  if (!/^[A-Z]{3}$/.test(defaultCurrency)) problems.push(`DEFAULT_CURRENCY must be three upper-case letters (ISO 4217), got "${defaultCurrency}"`);
  try {
    reader.done();
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError([...error.problems, ...problems]);
    throw error;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
