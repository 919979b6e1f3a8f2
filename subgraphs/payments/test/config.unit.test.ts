import { ConfigError } from '../../kit/src';
import { parseStripeApiBase, readPaymentsConfig } from '../src/config';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    readPaymentsConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('readPaymentsConfig', () => {
  it('defaults to port 4004, the mercado_payments database and the development provider', () => {
    expect(readPaymentsConfig({})).toMatchObject({
      name: 'payments',
      port: 4004,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/mercado_payments',
      redisUrl: 'redis://127.0.0.1:6379',
      jwksUrl: 'http://127.0.0.1:4001/.well-known/jwks.json',
      databasePoolSize: 10,
      stripe: null,
      eventsEnabled: true,
      eventsPrefix: undefined,
      eventsConcurrency: 10,
    });
  });

  it('reads Stripe settings and turns STRIPE_API_BASE into the SDK host, port and protocol', () => {
    const config = readPaymentsConfig({
      STRIPE_SECRET_KEY: 'sk_test_1',
      STRIPE_WEBHOOK_SECRET: 'whsec_1',
      STRIPE_API_BASE: 'http://127.0.0.1:12111',
      STRIPE_MAX_NETWORK_RETRIES: '0',
      STRIPE_TIMEOUT_MS: '5000',
      EVENTS_ENABLED: 'false',
      EVENTS_PREFIX: 'mercado',
    });
    expect(config.stripe).toEqual({
      secretKey: 'sk_test_1',
      webhookSecret: 'whsec_1',
      apiBase: { protocol: 'http', host: '127.0.0.1', port: 12111 },
      maxNetworkRetries: 0,
      timeoutMs: 5000,
    });
    expect(config).toMatchObject({ eventsEnabled: false, eventsPrefix: 'mercado' });
    expect(readPaymentsConfig({ STRIPE_SECRET_KEY: 'sk_live_1', STRIPE_WEBHOOK_SECRET: 'whsec_1' }).stripe).toMatchObject({ apiBase: null, maxNetworkRetries: 2, timeoutMs: 20_000 });
  });

  it('needs the secret key and the webhook secret together', () => {
    expect(problemsOf({ STRIPE_SECRET_KEY: 'sk_test_1' })).toEqual(['STRIPE_WEBHOOK_SECRET is required when STRIPE_SECRET_KEY is set']);
    expect(problemsOf({ STRIPE_WEBHOOK_SECRET: 'whsec_1' })).toEqual(['STRIPE_SECRET_KEY is required when STRIPE_WEBHOOK_SECRET is set']);
    expect(problemsOf({ STRIPE_API_BASE: 'http://127.0.0.1:12111' })).toEqual(['STRIPE_API_BASE is only used with STRIPE_SECRET_KEY']);
  });

  it('reports every invalid variable at once', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      STRIPE_SECRET_KEY: 'sk_test_1',
      STRIPE_WEBHOOK_SECRET: 'whsec_1',
      STRIPE_API_BASE: 'ftp://stripe.example',
      STRIPE_MAX_NETWORK_RETRIES: '11',
      EVENTS_CONCURRENCY: '0',
    });
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/PORT[\s\S]*EVENTS_CONCURRENCY[\s\S]*STRIPE_MAX_NETWORK_RETRIES[\s\S]*STRIPE_API_BASE must use http or https/);
  });
});

describe('parseStripeApiBase', () => {
  it.each([
    ['http://127.0.0.1:12111', { protocol: 'http', host: '127.0.0.1', port: 12111 }],
    ['https://api.stripe.com', { protocol: 'https', host: 'api.stripe.com', port: 443 }],
    ['http://stripe-mock', { protocol: 'http', host: 'stripe-mock', port: 80 }],
  ])('parses %s', (text, expected) => {
    expect(parseStripeApiBase(text)).toEqual(expected);
  });

  it('refuses paths, other protocols and non-URLs', () => {
    expect(() => parseStripeApiBase('http://127.0.0.1:12111/v1')).toThrow(/no path/);
    expect(() => parseStripeApiBase('ws://127.0.0.1')).toThrow(/http or https/);
    expect(() => parseStripeApiBase('not a url')).toThrow(/must be a URL/);
  });
});
