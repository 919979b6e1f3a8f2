import { ConfigError, readEnv, readSubgraphConfig, type SubgraphConfig } from '../../kit/src';

export const PORTFOLIO_DEFAULT_PORT = 4007;
/** USD stablecoins, all valued 1:1 with the first one (the currency every figure is reported in). */
export const DEFAULT_QUOTE_CURRENCIES = ['USDT', 'USDC', 'FDUSD', 'BUSD', 'TUSD', 'DAI', 'USD'];
export const DEFAULT_UPDATE_THROTTLE_MS = 500;
export const DEFAULT_SNAPSHOTS_MAX_PAGE = 1_000;
export const DEFAULT_RISK_MAX_SAMPLES = 10_000;

const CURRENCY = /^[A-Z0-9]{1,20}$/;

/**
 * The kit's SubgraphConfig (REDIS_URL, EVENTS_*) plus prices, updates and snapshots. With
 * EVENTS_ENABLED the server consumes `events-portfolio` (FillExecuted, UserDeleted) and runs
 * the snapshot worker; it publishes no events of its own.
 */
export interface PortfolioConfig extends SubgraphConfig {
  databasePoolSize: number;
  /** Redis channel prefix of the pub/sub: trading's price ticks arrive here and `portfolioUpdated` goes out; trading must use the same. */
  pubsubPrefix: string;
  /**
   * Quote currencies accepted in fills, all valued 1:1 (USD stablecoins). The first is the one every
   * value is reported in and the quote of rebalancing orders.
   */
  quoteCurrencies: string[];
  /** `portfolioUpdated` delivers at most once per this many milliseconds per subscription (the latest state). */
  updateThrottleMs: number;
  /** Milliseconds between two batched writes of the latest prices (kept for restarts and for snapshots). */
  priceFlushMs: number;
  /** Seconds between two value snapshots of every portfolio; 0 turns the snapshot job off. */
  snapshotIntervalSeconds: number;
  /** Largest `first` accepted by `Portfolio.snapshots`. */
  snapshotsMaxPage: number;
  /** Most snapshots (the latest) risk metrics are computed from. */
  riskMaxSamples: number;
}

/** Parses and validates the portfolio subgraph's environment once; every problem is reported together. */
export function readPortfolioConfig(env: Record<string, string | undefined> = process.env): PortfolioConfig {
  const reader = readEnv(env);
  const quoteText = reader.string('QUOTE_CURRENCIES', DEFAULT_QUOTE_CURRENCIES.join(','));
  const quoteCurrencies = [...new Set(quoteText.split(',').map((currency) => currency.trim()).filter((currency) => currency !== ''))];
  const config: PortfolioConfig = {
    ...readSubgraphConfig('portfolio', PORTFOLIO_DEFAULT_PORT, reader),
    databasePoolSize: reader.int('DATABASE_POOL_SIZE', 10, { min: 1, max: 100 }),
    pubsubPrefix: reader.string('PUBSUB_PREFIX', 'mercado:pubsub:'),
    quoteCurrencies,
    updateThrottleMs: reader.int('UPDATE_THROTTLE_MS', DEFAULT_UPDATE_THROTTLE_MS, { min: 0, max: 60_000 }),
    priceFlushMs: reader.int('PRICE_FLUSH_MS', 5_000, { min: 50, max: 600_000 }),
    snapshotIntervalSeconds: reader.int('SNAPSHOT_INTERVAL_SECONDS', 300, { min: 0, max: 7 * 24 * 3600 }),
    snapshotsMaxPage: reader.int('SNAPSHOTS_MAX_PAGE', DEFAULT_SNAPSHOTS_MAX_PAGE, { min: 1, max: 100_000 }),
    riskMaxSamples: reader.int('RISK_MAX_SAMPLES', DEFAULT_RISK_MAX_SAMPLES, { min: 2, max: 1_000_000 }),
  };
  const problems: string[] = [];
  const invalid = quoteCurrencies.filter((currency) => !CURRENCY.test(currency));
  if (quoteCurrencies.length === 0) problems.push('QUOTE_CURRENCIES must name at least one currency');
  if (invalid.length > 0) problems.push(`QUOTE_CURRENCIES must list currency codes such as USDT, got "${invalid.join('", "')}"`);
  try {
    reader.done();
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError([...error.problems, ...problems]);
    throw error;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
