import { ConfigError, readEnv, readSubgraphConfig, type SubgraphConfig } from '../../kit/src';
import { CURRENCY_PATTERN } from './shared/money';

export const ANALYTICS_DEFAULT_PORT = 4009;
export const DEFAULT_REPORT_CURRENCY = 'USD';
export const DEFAULT_REPORT_MAX_DAYS = 366;
export const DEFAULT_LOW_STOCK_ALERTS_MAX_PAGE = 100;

/**
 * The kit's SubgraphConfig (REDIS_URL, EVENTS_ENABLED / EVENTS_PREFIX / EVENTS_CONCURRENCY) plus the
 * reports' settings. With events enabled the server consumes `events-analytics`, which every
 * producer feeds; analytics publishes no events of its own.
 */
export interface AnalyticsConfig extends SubgraphConfig {
  databasePoolSize: number;
  /** Currency of `salesReport` when the query names none. */
  reportDefaultCurrency: string;
  /** Longest `salesReport` range in days, so one report stays one small query. */
  reportMaxDays: number;
  /** Largest `first` accepted by `lowStockAlerts`. */
  lowStockAlertsMaxPage: number;
}

/** Parses and validates the analytics subgraph's environment once; every problem is reported together. */
export function readAnalyticsConfig(env: Record<string, string | undefined> = process.env): AnalyticsConfig {
  const reader = readEnv(env);
  const config: AnalyticsConfig = {
    ...readSubgraphConfig('analytics', ANALYTICS_DEFAULT_PORT, reader),
    databasePoolSize: reader.int('DATABASE_POOL_SIZE', 10, { min: 1, max: 100 }),
    reportDefaultCurrency: reader.string('REPORT_DEFAULT_CURRENCY', DEFAULT_REPORT_CURRENCY).toUpperCase(),
    reportMaxDays: reader.int('REPORT_MAX_DAYS', DEFAULT_REPORT_MAX_DAYS, { min: 1, max: 3660 }),
    lowStockAlertsMaxPage: reader.int('LOW_STOCK_ALERTS_MAX_PAGE', DEFAULT_LOW_STOCK_ALERTS_MAX_PAGE, { min: 1, max: 10_000 }),
  };
  const problems = CURRENCY_PATTERN.test(config.reportDefaultCurrency) ? [] : [`REPORT_DEFAULT_CURRENCY must be an ISO 4217 code such as USD, got "${config.reportDefaultCurrency}"`];
  try {
    reader.done();
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError([...error.problems, ...problems]);
    throw error;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
