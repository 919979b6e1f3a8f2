import { ConfigError, readEnv, readSubgraphConfig, type SubgraphConfig } from '../../kit/src';

export const PAYMENTS_DEFAULT_PORT = 4004;
export const DEFAULT_STRIPE_MAX_NETWORK_RETRIES = 2;
export const DEFAULT_STRIPE_TIMEOUT_MS = 20_000;

/** Where the Stripe SDK sends its requests: api.stripe.com unless STRIPE_API_BASE points elsewhere (a fake in tests). */
export interface StripeApiBase {
  protocol: 'http' | 'https';
  host: string;
  port: number;
}

export interface StripeConfig {
  secretKey: string;
  webhookSecret: string;
  /** Null: the SDK's default, https://api.stripe.com. */
  apiBase: StripeApiBase | null;
  /** Retries the SDK makes on network errors, 409 and 5xx (same idempotency key each time). */
  maxNetworkRetries: number;
  timeoutMs: number;
}

export interface PaymentsConfig extends SubgraphConfig {
  /** Connections the ORM keeps to Postgres. */
  databasePoolSize: number;
  /** Null: the built-in development provider settles payments at once (no Stripe account needed). */
  stripe: StripeConfig | null;
  /**
   * A payment still PENDING this long after it was claimed or last asked for is asked for again
   * (the provider was away, or a process stopped mid-charge); longer than a charge with its retries
   * takes. Refunds recorded and not answered by the provider are sent again after as long.
   */
  chargeRetrySeconds: number;
}

/** Splits `http://127.0.0.1:12111` into the `protocol`/`host`/`port` options of the Stripe SDK. */
export function parseStripeApiBase(text: string): StripeApiBase {
  if (!URL.canParse(text)) throw new Error('must be a URL');
  const url = new URL(text);
  const protocol = url.protocol.replace(/:$/, '');
  if (protocol !== 'http' && protocol !== 'https') throw new Error(`must use http or https, got "${url.protocol}"`);
  if (url.pathname !== '/' && url.pathname !== '') throw new Error('must have no path (the SDK adds /v1/...)');
  return { protocol, host: url.hostname, port: url.port ? Number(url.port) : protocol === 'https' ? 443 : 80 };
}

/** Parses and validates the payments subgraph's environment once; every problem is reported together. */
export function readPaymentsConfig(env: Record<string, string | undefined> = process.env): PaymentsConfig {
  const reader = readEnv(env);
  const problems: string[] = [];
  const base = readSubgraphConfig('payments', PAYMENTS_DEFAULT_PORT, reader);
  const databasePoolSize = reader.int('DATABASE_POOL_SIZE', 10, { min: 1, max: 100 });
  const secretKey = reader.optional('STRIPE_SECRET_KEY');
  const webhookSecret = reader.optional('STRIPE_WEBHOOK_SECRET');
  const apiBaseText = reader.optional('STRIPE_API_BASE');
  const maxNetworkRetries = reader.int('STRIPE_MAX_NETWORK_RETRIES', DEFAULT_STRIPE_MAX_NETWORK_RETRIES, { min: 0, max: 10 });
  const timeoutMs = reader.int('STRIPE_TIMEOUT_MS', DEFAULT_STRIPE_TIMEOUT_MS, { min: 100, max: 120_000 });
  const chargeRetrySeconds = reader.int('PAYMENT_CHARGE_RETRY_SECONDS', 120, { min: 1, max: 86_400 });

  if (secretKey && !webhookSecret) problems.push('STRIPE_WEBHOOK_SECRET is required when STRIPE_SECRET_KEY is set');
  if (webhookSecret && !secretKey) problems.push('STRIPE_SECRET_KEY is required when STRIPE_WEBHOOK_SECRET is set');
  if (apiBaseText && !secretKey) problems.push('STRIPE_API_BASE is only used with STRIPE_SECRET_KEY');
  let apiBase: StripeApiBase | null = null;
  if (apiBaseText) {
    try {
      apiBase = parseStripeApiBase(apiBaseText);
    } catch (error) {
      problems.push(`STRIPE_API_BASE ${(error as Error).message}, got "${apiBaseText}"`);
    }
  }

  const config: PaymentsConfig = {
    ...base,
    databasePoolSize,
    stripe: secretKey && webhookSecret ? { secretKey, webhookSecret, apiBase, maxNetworkRetries, timeoutMs } : null,
    chargeRetrySeconds,
  };
  try {
    reader.done();
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError([...error.problems, ...problems]);
    throw error;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
