import { Decimal } from 'decimal.js';
import { ConfigError, readEnv, readSubgraphConfig, type EnvReader, type SubgraphConfig } from '../../kit/src';
import { CredentialsError, parseKeyring, type CredentialKeyring } from '../../kit/src/secrets';

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

/** A new paper account's terms when linkExchangeAccount names none. */
export interface PaperAccountDefaults {
  /** Starting balances by asset, decimal strings (PAPER_STARTING_BALANCES=USDT:10000,BTC:0.5). */
  startingBalances: Record<string, string>;
  /** Fee on the quote notional of every fill, as a fraction (0.001 = 0.1 %). */
  feeRate: string;
  /** Market fills are this many basis points worse than the last price. */
  slippageBps: string;
}

/** Pre-trade limits in quote units (decimal strings); null: no limit. */
export interface RiskLimitsConfig {
  maxOrderNotional: string | null;
  maxPositionNotional: string | null;
  dailyLossLimit: string | null;
}

export interface TradeOrdersConfig {
  /** Largest `first` of tradeOrders and User.tradeOrders. */
  maxPage: number;
  /** Bound on every call to a real exchange; past it the order's fate is unknown until reconciled. */
  exchangeTimeoutMs: number;
  /** Shortest time between two TWAP slices. */
  twapMinIntervalMs: number;
  /** Longest TWAP. */
  twapMaxDurationMs: number;
  /** Milliseconds between two writes of trailing stops' moved trigger state. */
  triggerFlushMs: number;
  /** Milliseconds between two syncs of live orders on real exchanges (fills of resting orders, unanswered placements). */
  exchangePollMs: number;
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
  /** The market feed runs in the one replica holding this Redis lease; the TTL bounds a takeover. */
  feedLeaseMs: number;
  paper: PaperFeedConfig;
  ccxt: CcxtFeedConfig;
  paperAccounts: PaperAccountDefaults;
  risk: RiskLimitsConfig;
  orders: TradeOrdersConfig;
  /**
   * Keys sealing exchange API credentials (CREDENTIALS_KEYS, see kit/src/secrets.ts). Null when
   * unset: outside production the server uses a development keyring; in production linking a ccxt
   * account is refused until keys are configured.
   */
  credentialKeyring: CredentialKeyring | null;
}

const DECIMAL = /^\d+(\.\d+)?$/;
const ASSET = /^[A-Z0-9]{1,20}$/;

/** A non-negative decimal variable; `fallback` null means unset is no value. */
function decimalVar(reader: EnvReader, name: string, fallback: string | null, problems: string[]): string | null {
  const text = reader.optional(name);
  if (text === undefined) return fallback;
  if (text.toLowerCase() === 'none') return null;
  if (!DECIMAL.test(text)) {
    problems.push(`${name} must be a non-negative decimal such as 1000.5 (or "none"), got "${text}"`);
    return fallback;
  }
  return new Decimal(text).toFixed();
}

/** `USDT:10000,BTC:0.5` → { USDT: '10000', BTC: '0.5' }. */
export function parseBalances(text: string): Record<string, string> | null {
  const balances: Record<string, string> = {};
  for (const part of text.split(',').map((item) => item.trim()).filter(Boolean)) {
    const [asset, amount, ...rest] = part.split(':').map((item) => item.trim());
    if (!asset || !amount || rest.length > 0 || !ASSET.test(asset) || !DECIMAL.test(amount)) return null;
    balances[asset] = new Decimal(amount).toFixed();
  }
  return balances;
}

/** Parses and validates the trading subgraph's environment once; every problem is reported together. */
export function readTradingConfig(env: Record<string, string | undefined> = process.env): TradingConfig {
  const reader = readEnv(env);
  const seedText = reader.optional('PAPER_SEED');
  const seed = seedText === undefined ? null : reader.int('PAPER_SEED', 0, { min: 0, max: 2 ** 32 - 1 });
  const problems: string[] = [];
  const balancesText = reader.string('PAPER_STARTING_BALANCES', 'USDT:10000');
  const startingBalances = parseBalances(balancesText);
  if (!startingBalances) problems.push(`PAPER_STARTING_BALANCES must look like USDT:10000,BTC:0.5, got "${balancesText}"`);
  const feeRate = decimalVar(reader, 'PAPER_FEE_RATE', '0.001', problems) ?? '0';
  const slippageBps = decimalVar(reader, 'PAPER_SLIPPAGE_BPS', '5', problems) ?? '0';
  const config: TradingConfig = {
    ...readSubgraphConfig('trading', TRADING_DEFAULT_PORT, reader),
    databasePoolSize: reader.int('DATABASE_POOL_SIZE', 10, { min: 1, max: 100 }),
    marketFeed: reader.oneOf('MARKET_FEED', MARKET_FEEDS, 'paper'),
    pubsubPrefix: reader.string('PUBSUB_PREFIX', 'mercado:pubsub:'),
    priceFlushMs: reader.int('PRICE_FLUSH_MS', 1_000, { min: 50, max: 60_000 }),
    feedLeaseMs: reader.int('MARKET_FEED_LEASE_MS', 10_000, { min: 1_000, max: 600_000 }),
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
    paperAccounts: { startingBalances: startingBalances ?? {}, feeRate, slippageBps },
    risk: {
      maxOrderNotional: decimalVar(reader, 'RISK_MAX_ORDER_NOTIONAL', '100000', problems),
      maxPositionNotional: decimalVar(reader, 'RISK_MAX_POSITION_NOTIONAL', '250000', problems),
      dailyLossLimit: decimalVar(reader, 'RISK_DAILY_LOSS_LIMIT', '10000', problems),
    },
    orders: {
      maxPage: reader.int('TRADE_ORDERS_MAX_PAGE', 100, { min: 1, max: 500 }),
      exchangeTimeoutMs: reader.int('EXCHANGE_TIMEOUT_MS', 10_000, { min: 100, max: 120_000 }),
      twapMinIntervalMs: reader.int('TWAP_MIN_INTERVAL_MS', 1_000, { min: 1, max: 3_600_000 }),
      twapMaxDurationMs: reader.int('TWAP_MAX_DURATION_MS', 86_400_000, { min: 1, max: 7 * 86_400_000 }),
      triggerFlushMs: reader.int('TRIGGER_FLUSH_MS', 1_000, { min: 10, max: 60_000 }),
      exchangePollMs: reader.int('EXCHANGE_POLL_MS', 5_000, { min: 100, max: 600_000 }),
    },
    credentialKeyring: null,
  };
  const keysText = reader.optional('CREDENTIALS_KEYS');
  if (keysText !== undefined) {
    try {
      config.credentialKeyring = parseKeyring(keysText);
    } catch (error) {
      problems.push(error instanceof CredentialsError ? error.message : 'CREDENTIALS_KEYS cannot be read');
    }
  }
  if (!/^[a-z0-9]+$/.test(config.ccxt.exchange)) problems.push(`CCXT_EXCHANGE must be a ccxt exchange id such as binance, got "${config.ccxt.exchange}"`);
  if (config.ccxt.backoffMaxMs < config.ccxt.backoffMs) problems.push('CCXT_BACKOFF_MAX_MS must not be below CCXT_BACKOFF_MS');
  if (config.ccxt.staleMs <= config.ccxt.pollMs) problems.push('CCXT_STALE_MS must be above CCXT_POLL_MS');
  if ((config.ccxt.apiKey === undefined) !== (config.ccxt.secret === undefined)) problems.push('CCXT_API_KEY and CCXT_SECRET go together');
  if (new Decimal(feeRate).greaterThanOrEqualTo(1)) problems.push('PAPER_FEE_RATE must be below 1 (a fraction: 0.001 is 0.1 %)');
  if (new Decimal(slippageBps).greaterThanOrEqualTo(10_000)) problems.push('PAPER_SLIPPAGE_BPS must be below 10000');
  try {
    reader.done();
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError([...error.problems, ...problems]);
    throw error;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
