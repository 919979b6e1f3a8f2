import path from 'node:path';
import { ConfigError, readEnv, readTracesConfig, type TracesConfig } from '../../subgraphs/kit/src/config';
import { invalidCorsOrigin, type CorsOptions } from './plugins/cors';
import type { OperationLimits } from './plugins/operation-limits';

export type RouterEnv = 'development' | 'test' | 'production';

/** The router's settings, parsed once from the environment (see router/.env.example). */
export interface RouterConfig {
  /** Where operation spans go (OpenTelemetry's variables); without an endpoint none is recorded. */
  traces: TracesConfig;
  port: number;
  host: string;
  env: RouterEnv;
  logLevel: string;
  /** The committed, composed supergraph the router plans against (absolute path). */
  supergraphPath: string;
  /** Reload the supergraph when the file changes, without a restart. */
  supergraphWatch: boolean;
  /** Where the users subgraph publishes its token signing keys. */
  jwksUrl: string;
  /** Time a subgraph has to start answering (and between body chunks) before UPSTREAM_UNAVAILABLE. */
  subgraphTimeoutMs: number;
  /** Keep-alive connections per subgraph origin. */
  subgraphMaxSockets: number;
  /** Share one in-flight subgraph read between identical concurrent reads (never mutations). */
  subgraphDedupe: boolean;
  /** Approximate size of the query plan cache. */
  queryPlanCacheMiB: number;
  /** Largest accepted request body. */
  bodyLimitBytes: number;
  /** Shared by the replicas: the APQ cache and the rate limit counters. */
  redisUrl: string;
  /** The users subgraph's API key exchange (`POST /api-keys/token`); default: next to the JWKS. */
  apiKeyExchangeUrl: string;
  /** How long a key's token is reused before the key is checked again: how soon a revoked key stops working. */
  apiKeyCacheSeconds: number;
  /** Requests a minute per API key; 0: unlimited. */
  rateLimitApiKeyPerMinute: number;
  /** Requests a minute per signed-in user; 0: unlimited. */
  rateLimitUserPerMinute: number;
  /** How long hits far from a limit are counted in memory before they go to Redis together; 0: every request asks Redis. */
  rateLimitSyncMs: number;
  /** What one operation may ask for; see plugins/operation-limits.ts. */
  operationLimits: OperationLimits;
  /** Browser origins allowed to call `/graphql`; see plugins/cors.ts. */
  cors: CorsOptions;
  /** The persisted query manifest (trusted documents) partners' API keys may run (absolute path). */
  persistedQueriesPath: string;
  /** Every caller, not only API keys, may run manifest operations only (Sandbox then cannot send its own). */
  persistedQueriesSafelist: boolean;
  /** How long an automatic persisted query stays registered. */
  apqTtlSeconds: number;
  introspection: boolean;
  /** `SUBGRAPH_URL_<NAME>` overrides the supergraph's routing URL of subgraph `<name>` (lowercase). */
  subgraphUrls: Record<string, string>;
  /** graphql-ws on `/graphql`: time a client has to send `connection_init` before the socket closes with 4408. */
  subscriptionInitTimeoutMs: number;
  /** WebSocket ping interval to clients (a client that misses a pong for as long is dropped) and to subgraphs; 0 = off. */
  subscriptionKeepAliveMs: number;
  /** Operations one client connection may run at once; the next one gets an error. */
  subscriptionMaxPerConnection: number;
  /** How long the router keeps reconnecting to a dropped subgraph before its subscribers get an error and complete. */
  subscriptionReconnectMaxMs: number;
  /**
   * Root subscription fields whose events are the same for everyone (no per-user data): identical
   * subscriptions share one anonymous upstream subscription, whoever the clients are.
   */
  subscriptionSharedFields: string[];
}

const DEFAULT_JWKS_URL = 'http://127.0.0.1:4001/.well-known/jwks.json';
/** Where the users subgraph trades API keys for tokens (subgraphs/users/src/api-keys). */
const API_KEY_TOKEN_PATH = '/api-keys/token';

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** `SUBSCRIPTION_SHARED_FIELDS`: comma-separated root field names, or `none`. */
function sharedFields(text: string, problems: string[]): string[] {
  if (text.trim().toLowerCase() === 'none') return [];
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const invalid = names.filter((name) => !GRAPHQL_NAME.test(name));
  if (invalid.length > 0) problems.push(`SUBSCRIPTION_SHARED_FIELDS must list GraphQL field names (or be "none"), got "${invalid.join('", "')}"`);
  return [...new Set(names.filter((name) => GRAPHQL_NAME.test(name)))];
}

/** `CORS_ORIGINS`: a comma-separated list, or `none`. */
function corsOrigins(text: string, problems: string[]): string[] {
  if (text.trim().toLowerCase() === 'none') return [];
  const origins = text
    .split(',')
    .map((origin) => origin.trim().replace(/\/+$/, ''))
    .filter((origin) => origin !== '');
  const invalid = origins.filter(invalidCorsOrigin);
  if (invalid.length > 0) problems.push(`CORS_ORIGINS must list origins (https://app.example.com, https://*.example.com or *), or be "none"; got "${invalid.join('", "')}"`);
  return origins.filter((origin) => !invalidCorsOrigin(origin));
}

/** Reads every `SUBGRAPH_URL_<NAME>` variable, as Apollo Router's override_subgraph_url does. */
function subgraphUrlOverrides(env: Record<string, string | undefined>, problems: string[]): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const match = /^SUBGRAPH_URL_([A-Z0-9_]+)$/.exec(key);
    if (!match || !value) continue;
    if (!URL.canParse(value)) problems.push(`${key} must be a URL, got "${value}"`);
    else overrides[match[1]!.toLowerCase()] = value;
  }
  return overrides;
}

export function readRouterConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): RouterConfig {
  const reader = readEnv(env);
  const overrideProblems: string[] = [];
  const nodeEnv = reader.oneOf('NODE_ENV', ['development', 'test', 'production'] as const, 'development');
  const config: RouterConfig = {
    port: reader.int('PORT', 4000, { min: 0, max: 65535 }),
    host: reader.string('HOST', '0.0.0.0'),
    env: nodeEnv,
    logLevel: reader.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    supergraphPath: path.resolve(cwd, reader.string('SUPERGRAPH_PATH', 'schema/supergraph.graphql')),
    supergraphWatch: reader.bool('SUPERGRAPH_WATCH', true),
    jwksUrl: reader.url('JWKS_URL', DEFAULT_JWKS_URL),
    subgraphTimeoutMs: reader.int('SUBGRAPH_TIMEOUT_MS', 10_000, { min: 1, max: 300_000 }),
    subgraphMaxSockets: reader.int('SUBGRAPH_MAX_SOCKETS', 256, { min: 1, max: 65_536 }),
    subgraphDedupe: reader.bool('SUBGRAPH_DEDUPE', true),
    queryPlanCacheMiB: reader.int('QUERY_PLAN_CACHE_MIB', 64, { min: 1, max: 4096 }),
    bodyLimitBytes: reader.int('BODY_LIMIT_BYTES', 1_000_000, { min: 1_024 }),
    traces: readTracesConfig(reader),
    redisUrl: reader.url('REDIS_URL', 'redis://127.0.0.1:6379'),
    apiKeyExchangeUrl: '',
    apiKeyCacheSeconds: reader.int('API_KEY_CACHE_SECONDS', 60, { min: 0, max: 3600 }),
    rateLimitApiKeyPerMinute: reader.int('RATE_LIMIT_API_KEY_PER_MINUTE', 600, { min: 0 }),
    rateLimitUserPerMinute: reader.int('RATE_LIMIT_USER_PER_MINUTE', 1200, { min: 0 }),
    rateLimitSyncMs: reader.int('RATE_LIMIT_SYNC_MS', 25, { min: 0, max: 60_000 }),
    operationLimits: {
      maxTokens: reader.int('LIMIT_MAX_TOKENS', 2_000, { min: 100, max: 1_000_000 }),
      maxDepth: reader.int('LIMIT_MAX_DEPTH', 12, { min: 2, max: 1_000 }),
      maxAliases: reader.int('LIMIT_MAX_ALIASES', 30, { min: 0, max: 10_000 }),
      maxRootFields: reader.int('LIMIT_MAX_ROOT_FIELDS', 20, { min: 1, max: 10_000 }),
      maxDirectives: reader.int('LIMIT_MAX_DIRECTIVES', 50, { min: 0, max: 10_000 }),
    },
    // Production serves the apps' own origins only, once configured; development any page (local apps on other ports).
    cors: {
      origins: corsOrigins(reader.string('CORS_ORIGINS', nodeEnv === 'production' ? 'none' : '*'), overrideProblems),
      allowCredentials: reader.bool('CORS_ALLOW_CREDENTIALS', false),
      maxAgeSeconds: reader.int('CORS_MAX_AGE_SECONDS', 600, { min: 0, max: 86_400 }),
    },
    persistedQueriesPath: path.resolve(cwd, reader.string('PERSISTED_QUERIES_PATH', 'schema/persisted-queries.json')),
    persistedQueriesSafelist: reader.bool('PERSISTED_QUERIES_SAFELIST', false),
    apqTtlSeconds: reader.int('APQ_TTL_SECONDS', 86_400, { min: 60 }),
    introspection: reader.bool('INTROSPECTION', nodeEnv !== 'production'),
    subgraphUrls: subgraphUrlOverrides(env, overrideProblems),
    subscriptionInitTimeoutMs: reader.int('SUBSCRIPTION_INIT_TIMEOUT_MS', 3_000, { min: 1, max: 300_000 }),
    subscriptionKeepAliveMs: reader.int('SUBSCRIPTION_KEEPALIVE_MS', 12_000, { min: 0, max: 300_000 }),
    subscriptionMaxPerConnection: reader.int('SUBSCRIPTION_MAX_PER_CONNECTION', 100, { min: 1, max: 10_000 }),
    subscriptionReconnectMaxMs: reader.int('SUBSCRIPTION_RECONNECT_MAX_MS', 30_000, { min: 0, max: 3_600_000 }),
    subscriptionSharedFields: sharedFields(reader.string('SUBSCRIPTION_SHARED_FIELDS', 'priceUpdated'), overrideProblems),
  };
  config.apiKeyExchangeUrl = reader.url('API_KEY_EXCHANGE_URL', new URL(API_KEY_TOKEN_PATH, URL.canParse(config.jwksUrl) ? config.jwksUrl : DEFAULT_JWKS_URL).href);
  try {
    reader.done();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    overrideProblems.unshift(...error.problems);
  }
  if (overrideProblems.length > 0) throw new ConfigError(overrideProblems);
  return config;
}
