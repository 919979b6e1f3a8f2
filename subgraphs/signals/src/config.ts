import { isIP } from 'node:net';
import { ConfigError, readEnv, readSubgraphConfig, type RateLimit, type SubgraphConfig } from '../../kit/src';
import { CredentialsError, developmentKeyring, parseKeyring, type CredentialKeyring } from '../../kit/src/secrets';
import { parseProxyEntry } from './ingest/client-ip';
import type { Plan } from './plan/plan';
import { readScreenshotConfig, type ScreenshotConfig } from './screenshots';

export const SIGNALS_DEFAULT_PORT = 4008;
/** The addresses TradingView sends webhooks from (https://www.tradingview.com/support/solutions/43000529348). */
export const TRADINGVIEW_WEBHOOK_IPS = ['52.89.214.238', '34.212.75.30', '54.218.53.128', '52.32.178.7'] as const;
export const DEFAULT_SIGNALS_MAX_PAGE = 100;
export const DEFAULT_MAX_ENDPOINTS = 20;

export interface SignalsConfig extends SubgraphConfig {
  databasePoolSize: number;
  /** Redis channel prefix of the subscription pub/sub; also where trading's price ticks arrive (`price:<symbol>`). */
  pubsubPrefix: string;
  /** Where TradingView reaches this subgraph from the internet; webhook URLs are `<publicBaseUrl>/webhook/u/<token>`. */
  publicBaseUrl: string;
  /** Source addresses an endpoint with `tradingViewIpsOnly` accepts. */
  tradingViewIps: string[];
  /** Peers whose X-Forwarded-For is believed (a load balancer in front of this process), as addresses or CIDR ranges; none by default. */
  trustedProxies: string[];
  /** A body repeated on the same endpoint within this many seconds is the same alert (TradingView retries). */
  dedupWindowSeconds: number;
  /** Signals per calendar month (UTC) of each plan. */
  quotas: Record<Plan, number>;
  /** Requests one webhook token may send per window. */
  rateLimit: RateLimit;
  /** Largest alert body accepted; larger ones answer 413. */
  webhookBodyLimitBytes: number;
  /** How much of a refused body the audit log keeps. */
  auditBodyBytes: number;
  /** Refusals older than this are deleted by the maintenance sweep. */
  auditRetentionDays: number;
  /** Refusals the audit log keeps per source (an endpoint, or the address sending unknown tokens) per minute. */
  auditRefusalsPerMinute: number;
  /** Largest `first` of signal lists. */
  signalsMaxPage: number;
  /** Most live webhook endpoints one user may have. */
  maxEndpointsPerUser: number;
  /** The chart screenshot pipeline (SCREENSHOT_*, CHROME_PATH, TRADING_URL). */
  screenshots: ScreenshotConfig;
  /**
   * Keys sealing users' TradingView session cookies (SECRETS_KEYS, "keyId:base64key,…": the first
   * seals, the rest still open). Required in production; elsewhere a development keyring.
   */
  secretsKeyring: CredentialKeyring;
}

const list = (text: string | undefined, fallback: readonly string[]): string[] =>
  text === undefined
    ? [...fallback]
    : text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');

/** Parses and validates the signals subgraph's environment once; every problem is reported together. */
export function readSignalsConfig(env: Record<string, string | undefined> = process.env): SignalsConfig {
  const reader = readEnv(env);
  const base = readSubgraphConfig('signals', SIGNALS_DEFAULT_PORT, reader);
  const config: SignalsConfig = {
    ...base,
    databasePoolSize: reader.int('DATABASE_POOL_SIZE', 10, { min: 1, max: 100 }),
    pubsubPrefix: reader.string('PUBSUB_PREFIX', 'mercado:pubsub:'),
    publicBaseUrl: reader.url('PUBLIC_BASE_URL', `http://127.0.0.1:${base.port}`).replace(/\/+$/, ''),
    tradingViewIps: list(reader.optional('TRADINGVIEW_IPS'), TRADINGVIEW_WEBHOOK_IPS),
    trustedProxies: list(reader.optional('TRUSTED_PROXIES'), []),
    dedupWindowSeconds: reader.int('SIGNALS_DEDUP_WINDOW_SECONDS', 600, { min: 1, max: 86_400 }),
    quotas: {
      free: reader.int('SIGNALS_QUOTA_FREE', 100, { min: 0, max: 100_000_000 }),
      pro: reader.int('SIGNALS_QUOTA_PRO', 10_000, { min: 0, max: 100_000_000 }),
      premium: reader.int('SIGNALS_QUOTA_PREMIUM', 1_000_000, { min: 0, max: 100_000_000 }),
    },
    rateLimit: {
      limit: reader.int('WEBHOOK_RATE_LIMIT', 60, { min: 1, max: 1_000_000 }),
      windowSeconds: reader.int('WEBHOOK_RATE_WINDOW_SECONDS', 60, { min: 1, max: 86_400 }),
    },
    webhookBodyLimitBytes: reader.int('WEBHOOK_BODY_LIMIT_BYTES', 65_536, { min: 256, max: 1_000_000 }),
    auditBodyBytes: reader.int('AUDIT_BODY_BYTES', 2_048, { min: 0, max: 65_536 }),
    auditRetentionDays: reader.int('AUDIT_RETENTION_DAYS', 30, { min: 1, max: 3_650 }),
    auditRefusalsPerMinute: reader.int('AUDIT_REFUSALS_PER_MINUTE', 30, { min: 1, max: 1_000_000 }),
    signalsMaxPage: reader.int('SIGNALS_MAX_PAGE', DEFAULT_SIGNALS_MAX_PAGE, { min: 1, max: 500 }),
    maxEndpointsPerUser: reader.int('MAX_WEBHOOK_ENDPOINTS', DEFAULT_MAX_ENDPOINTS, { min: 1, max: 1_000 }),
    screenshots: readScreenshotConfig(reader, { production: base.env === 'production' }),
    secretsKeyring: developmentKeyring('signals'),
  };
  const problems: string[] = [];
  const keysText = reader.optional('SECRETS_KEYS');
  if (keysText !== undefined) {
    try {
      config.secretsKeyring = parseKeyring(keysText);
    } catch (error) {
      // The kit names the variable trading uses; this one is SECRETS_KEYS. Messages never hold key material.
      problems.push(error instanceof CredentialsError ? error.message.replaceAll('CREDENTIALS_KEYS', 'SECRETS_KEYS') : 'SECRETS_KEYS cannot be read');
    }
  } else if (base.env === 'production') {
    problems.push('SECRETS_KEYS is required in production: "keyId:base64key" (a 32-byte key, e.g. from `openssl rand -base64 32`) sealing TradingView sessions');
  }
  const listed = (items: string[]) => items.map((item) => `"${item}"`).join(', ');
  const badSources = config.tradingViewIps.filter((address) => isIP(address) === 0);
  if (badSources.length > 0) problems.push(`TRADINGVIEW_IPS must be a comma-separated list of IP addresses, got ${listed(badSources)}`);
  const badProxies = config.trustedProxies.filter((entry) => parseProxyEntry(entry) === null);
  if (badProxies.length > 0) problems.push(`TRUSTED_PROXIES must be a comma-separated list of IP addresses or CIDR ranges (10.0.0.0/8), got ${listed(badProxies)}`);
  if (!/^https?:\/\//.test(config.publicBaseUrl)) problems.push(`PUBLIC_BASE_URL must be an http(s) URL, got "${config.publicBaseUrl}"`);
  try {
    reader.done();
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError([...error.problems, ...problems]);
    throw error;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
