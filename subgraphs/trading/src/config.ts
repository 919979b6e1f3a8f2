import { ConfigError, readEnv, readSubgraphConfig, type SubgraphConfig } from '../../kit/src';

export const TRADING_DEFAULT_PORT = 4006;
export const MARKET_FEEDS = ['paper', 'ccxt', 'off'] as const;
export type MarketFeedKind = (typeof MARKET_FEEDS)[number];

export interface PaperFeedConfig {
  /** Milliseconds between two simulated ticks (every instrument moves on each). */
  tickMs: number;
  /** Seed of the random walk; the same seed and tick times give the same prices. Null: a new seed each start. */
  seed: number | null;
}

export interface CcxtFeedConfig {
  /** A ccxt exchange id, e.g. `binance`. */
  exchange: string;
  apiKey: string | undefined;
  secret: string | undefined;
  /** Milliseconds between two fetchTickers calls when polling. */
  pollMs: number;
  /** No fresh ticker for this long: the connection is dropped and the exchange recreated. */
  staleMs: number;
  /** First delay after a failed call; doubles on each further failure up to `backoffMaxMs`. */
  backoffMs: number;
  backoffMaxMs: number;
  /** Stream with watchTickers (ccxt.pro, inside the ccxt package) where the exchange has it; otherwise poll. */
  websocket: boolean;
}

/**
 * The kit's SubgraphConfig (REDIS_URL, EVENTS_*) plus the market feed. With EVENTS_ENABLED the
 * server also runs its outbox relay; the market feed runs unless MARKET_FEED=off.
 */
export interface TradingConfig extends SubgraphConfig {
  databasePoolSize: number;
  /** Where prices come from: a simulated market (`paper`), a real exchange (`ccxt`), or nowhere (`off`). */
  marketFeed: MarketFeedKind;
  /** Redis channel prefix of the subscription pub/sub; every replica of one deployment uses the same. */
  pubsubPrefix: string;
  /** Milliseconds between two batched writes of the latest prices to the instrument rows. */
  priceFlushMs: number;
  paper: PaperFeedConfig;
  ccxt: CcxtFeedConfig;
}

/** Parses and validates the trading subgraph's environment once; every problem is reported together. */
export function readTradingConfig(env: Record<string, string | undefined> = process.env): TradingConfig {
  const reader = readEnv(env);
  const seedText = reader.optional('PAPER_SEED');
  const seed = seedText === undefined ? null : reader.int('PAPER_SEED', 0, { min: 0, max: 2 ** 32 - 1 });
  const config: TradingConfig = {
    ...readSubgraphConfig('trading', TRADING_DEFAULT_PORT, reader),
    databasePoolSize: reader.int('DATABASE_POOL_SIZE', 10, { min: 1, max: 100 }),
    marketFeed: reader.oneOf('MARKET_FEED', MARKET_FEEDS, 'paper'),
    pubsubPrefix: reader.string('PUBSUB_PREFIX', 'mercado:pubsub:'),
    priceFlushMs: reader.int('PRICE_FLUSH_MS', 1_000, { min: 50, max: 60_000 }),
    paper: {
      tickMs: reader.int('PAPER_TICK_MS', 250, { min: 10, max: 60_000 }),
      seed,
    },
    ccxt: {
      exchange: reader.string('CCXT_EXCHANGE', 'binance'),
      apiKey: reader.optional('CCXT_API_KEY'),
      secret: reader.optional('CCXT_SECRET'),
      pollMs: reader.int('CCXT_POLL_MS', 2_000, { min: 100, max: 600_000 }),
      staleMs: reader.int('CCXT_STALE_MS', 30_000, { min: 500, max: 3_600_000 }),
      backoffMs: reader.int('CCXT_BACKOFF_MS', 1_000, { min: 10, max: 600_000 }),
      backoffMaxMs: reader.int('CCXT_BACKOFF_MAX_MS', 60_000, { min: 10, max: 3_600_000 }),
      websocket: reader.bool('CCXT_WEBSOCKET', true),
    },
  };
  const problems: string[] = [];
  if (!/^[a-z0-9]+$/.test(config.ccxt.exchange)) problems.push(`CCXT_EXCHANGE must be a ccxt exchange id such as binance, got "${config.ccxt.exchange}"`);
  if (config.ccxt.backoffMaxMs < config.ccxt.backoffMs) problems.push('CCXT_BACKOFF_MAX_MS must not be below CCXT_BACKOFF_MS');
  if (config.ccxt.staleMs <= config.ccxt.pollMs) problems.push('CCXT_STALE_MS must be above CCXT_POLL_MS');
  if ((config.ccxt.apiKey === undefined) !== (config.ccxt.secret === undefined)) problems.push('CCXT_API_KEY and CCXT_SECRET go together');
  try {
    reader.done();
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError([...error.problems, ...problems]);
    throw error;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
