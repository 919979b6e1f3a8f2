import path from 'node:path';
import { ConfigError, readEnv } from '../../subgraphs/kit/src/config';

export type RouterEnv = 'development' | 'test' | 'production';

/** The router's settings, parsed once from the environment (see router/.env.example). */
export interface RouterConfig {
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
  /** For APQ and rate limits (later issues). */
  redisUrl: string;
  introspection: boolean;
  /** `SUBGRAPH_URL_<NAME>` overrides the supergraph's routing URL of subgraph `<name>` (lowercase). */
  subgraphUrls: Record<string, string>;
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
    jwksUrl: reader.url('JWKS_URL', 'http://127.0.0.1:4001/.well-known/jwks.json'),
    subgraphTimeoutMs: reader.int('SUBGRAPH_TIMEOUT_MS', 10_000, { min: 1, max: 300_000 }),
    subgraphMaxSockets: reader.int('SUBGRAPH_MAX_SOCKETS', 256, { min: 1, max: 65_536 }),
    subgraphDedupe: reader.bool('SUBGRAPH_DEDUPE', true),
    queryPlanCacheMiB: reader.int('QUERY_PLAN_CACHE_MIB', 64, { min: 1, max: 4096 }),
    bodyLimitBytes: reader.int('BODY_LIMIT_BYTES', 1_000_000, { min: 1_024 }),
    redisUrl: reader.url('REDIS_URL', 'redis://127.0.0.1:6379'),
    introspection: reader.bool('INTROSPECTION', nodeEnv !== 'production'),
    subgraphUrls: subgraphUrlOverrides(env, overrideProblems),
  };
  try {
    reader.done();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    overrideProblems.unshift(...error.problems);
  }
  if (overrideProblems.length > 0) throw new ConfigError(overrideProblems);
  return config;
}
