import { ConfigError } from '../../subgraphs/kit/src/config';
import { readRouterConfig } from '../src/config';

describe('readRouterConfig', () => {
  it('has defaults for running next to the other processes', () => {
    expect(readRouterConfig({}, '/repo')).toEqual({
      port: 4000,
      host: '0.0.0.0',
      env: 'development',
      logLevel: 'info',
      supergraphPath: '/repo/schema/supergraph.graphql',
      supergraphWatch: true,
      traces: { endpoint: undefined, sampleRatio: 1, headers: {} },
      jwksUrl: 'http://127.0.0.1:4001/.well-known/jwks.json',
      subgraphTimeoutMs: 10_000,
      subgraphMaxSockets: 256,
      subgraphDedupe: true,
      queryPlanCacheMiB: 64,
      bodyLimitBytes: 1_000_000,
      redisUrl: 'redis://127.0.0.1:6379',
      apiKeyExchangeUrl: 'http://127.0.0.1:4001/api-keys/token',
      apiKeyCacheSeconds: 60,
      rateLimitApiKeyPerMinute: 600,
      rateLimitUserPerMinute: 1200,
      rateLimitSyncMs: 25,
      operationLimits: { maxTokens: 2_000, maxDepth: 12, maxAliases: 30, maxRootFields: 20, maxDirectives: 50 },
      cors: { origins: ['*'], allowCredentials: false, maxAgeSeconds: 600 },
      persistedQueriesPath: '/repo/schema/persisted-queries.json',
      persistedQueriesSafelist: false,
      apqTtlSeconds: 86_400,
      introspection: true,
      subgraphUrls: {},
      subscriptionInitTimeoutMs: 3_000,
      subscriptionKeepAliveMs: 12_000,
      subscriptionMaxPerConnection: 100,
      subscriptionReconnectMaxMs: 30_000,
      subscriptionSharedFields: ['priceUpdated'],
    });
  });

  it('turns introspection off in production unless asked for', () => {
    expect(readRouterConfig({ NODE_ENV: 'production' }).introspection).toBe(false);
    expect(readRouterConfig({ NODE_ENV: 'production', INTROSPECTION: 'true' }).introspection).toBe(true);
    expect(readRouterConfig({ NODE_ENV: 'development', INTROSPECTION: 'false' }).introspection).toBe(false);
  });

  it('reads every variable', () => {
    const config = readRouterConfig(
      {
        PORT: '8080',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        SUPERGRAPH_PATH: '/etc/mercado/supergraph.graphql',
        SUPERGRAPH_WATCH: 'false',
        JWKS_URL: 'http://users:4001/.well-known/jwks.json',
        SUBGRAPH_TIMEOUT_MS: '2500',
        SUBGRAPH_MAX_SOCKETS: '64',
        SUBGRAPH_DEDUPE: 'off',
        QUERY_PLAN_CACHE_MIB: '128',
        BODY_LIMIT_BYTES: '2048',
        REDIS_URL: 'redis://redis:6379',
        RATE_LIMIT_API_KEY_PER_MINUTE: '60',
        RATE_LIMIT_USER_PER_MINUTE: '0',
        RATE_LIMIT_SYNC_MS: '0',
        LIMIT_MAX_TOKENS: '500',
        LIMIT_MAX_DEPTH: '8',
        LIMIT_MAX_ALIASES: '0',
        LIMIT_MAX_ROOT_FIELDS: '3',
        LIMIT_MAX_DIRECTIVES: '5',
        CORS_ORIGINS: 'https://app.mercado.example, https://*.partners.example/',
        CORS_ALLOW_CREDENTIALS: 'true',
        CORS_MAX_AGE_SECONDS: '60',
        PERSISTED_QUERIES_PATH: '/etc/mercado/persisted-queries.json',
        PERSISTED_QUERIES_SAFELIST: 'true',
        APQ_TTL_SECONDS: '3600',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
      },
      '/repo',
    );
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      logLevel: 'warn',
      supergraphPath: '/etc/mercado/supergraph.graphql',
      supergraphWatch: false,
      jwksUrl: 'http://users:4001/.well-known/jwks.json',
      subgraphTimeoutMs: 2500,
      subgraphMaxSockets: 64,
      subgraphDedupe: false,
      queryPlanCacheMiB: 128,
      bodyLimitBytes: 2048,
      redisUrl: 'redis://redis:6379',
      // Next to the JWKS unless API_KEY_EXCHANGE_URL says otherwise.
      apiKeyExchangeUrl: 'http://users:4001/api-keys/token',
      rateLimitApiKeyPerMinute: 60,
      rateLimitUserPerMinute: 0,
      rateLimitSyncMs: 0,
      operationLimits: { maxTokens: 500, maxDepth: 8, maxAliases: 0, maxRootFields: 3, maxDirectives: 5 },
      cors: { origins: ['https://app.mercado.example', 'https://*.partners.example'], allowCredentials: true, maxAgeSeconds: 60 },
      persistedQueriesPath: '/etc/mercado/persisted-queries.json',
      persistedQueriesSafelist: true,
      apqTtlSeconds: 3600,
      traces: { endpoint: 'http://otel-collector:4318/v1/traces', sampleRatio: 0.1, headers: {} },
    });
    expect(readRouterConfig({ API_KEY_EXCHANGE_URL: 'http://keys:9000/exchange' }).apiKeyExchangeUrl).toBe('http://keys:9000/exchange');
  });

  it('reports every invalid variable at once', () => {
    let error: unknown;
    try {
      readRouterConfig({ PORT: 'eighty', JWKS_URL: 'not a url', SUBGRAPH_TIMEOUT_MS: '0', NODE_ENV: 'staging', SUBGRAPH_URL_USERS: 'users' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'NODE_ENV must be one of development, test, production, got "staging"',
      'PORT must be an integer, got "eighty"',
      'JWKS_URL must be a URL, got "not a url"',
      'SUBGRAPH_TIMEOUT_MS must be between 1 and 300000, got 0',
      'SUBGRAPH_URL_USERS must be a URL, got "users"',
    ]);
  });

  it('allows no browser origin in production unless configured, and refuses what is not an origin', () => {
    expect(readRouterConfig({ NODE_ENV: 'production' }).cors.origins).toEqual([]);
    expect(readRouterConfig({ NODE_ENV: 'production', CORS_ORIGINS: 'none' }).cors.origins).toEqual([]);
    expect(() => readRouterConfig({ CORS_ORIGINS: 'https://app.example.com/path, app.example.com, https://*.*.example.com' })).toThrow(
      'CORS_ORIGINS must list origins (https://app.example.com, https://*.example.com or *), or be "none"; got "https://app.example.com/path", "app.example.com", "https://*.*.example.com"',
    );
  });

  it('reads routing URL overrides per subgraph', () => {
    const config = readRouterConfig({ SUBGRAPH_URL_USERS: 'http://users:4001/graphql', SUBGRAPH_URL_ORDER_HISTORY: 'http://history/graphql' });
    expect(config.subgraphUrls).toEqual({ users: 'http://users:4001/graphql', order_history: 'http://history/graphql' });
  });
});
