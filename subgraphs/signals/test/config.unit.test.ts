import { ConfigError } from '../../kit/src';
import { developmentKeyring } from '../../kit/src/secrets';
import { readSignalsConfig, TRADINGVIEW_WEBHOOK_IPS } from '../src/config';

describe('readSignalsConfig', () => {
  it('defaults to port 4008, the mercado_signals database and TradingView\'s webhook addresses', () => {
    expect(readSignalsConfig({})).toMatchObject({
      name: 'signals',
      port: 4008,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/mercado_signals',
      publicBaseUrl: 'http://127.0.0.1:4008',
      tradingViewIps: [...TRADINGVIEW_WEBHOOK_IPS],
      trustedProxies: [],
      dedupWindowSeconds: 600,
      quotas: { free: 100, pro: 10_000, premium: 1_000_000 },
      rateLimit: { limit: 60, windowSeconds: 60 },
      pubsubPrefix: 'mercado:pubsub:',
      screenshots: { tradingUrl: 'http://127.0.0.1:4006/graphql' },
    });
    expect(TRADINGVIEW_WEBHOOK_IPS).toEqual(['52.89.214.238', '34.212.75.30', '54.218.53.128', '52.32.178.7']);
  });

  it('reads its own variables', () => {
    const config = readSignalsConfig({
      PORT: '4108',
      PUBLIC_BASE_URL: 'https://hooks.example.com/',
      TRUSTED_PROXIES: '10.0.0.1, 10.1.0.0/16, fd00::/8',
      TRADINGVIEW_IPS: '1.2.3.4',
      SIGNALS_DEDUP_WINDOW_SECONDS: '60',
      SIGNALS_QUOTA_FREE: '5',
      SIGNALS_QUOTA_PRO: '50',
      SIGNALS_QUOTA_PREMIUM: '500',
      WEBHOOK_RATE_LIMIT: '10',
      WEBHOOK_RATE_WINDOW_SECONDS: '1',
    });
    expect(config).toMatchObject({
      port: 4108,
      publicBaseUrl: 'https://hooks.example.com',
      trustedProxies: ['10.0.0.1', '10.1.0.0/16', 'fd00::/8'],
      tradingViewIps: ['1.2.3.4'],
      dedupWindowSeconds: 60,
      quotas: { free: 5, pro: 50, premium: 500 },
      rateLimit: { limit: 10, windowSeconds: 1 },
    });
  });

  it('reports every invalid variable at once', () => {
    let error: unknown;
    try {
      readSignalsConfig({ TRUSTED_PROXIES: 'proxy.local', TRADINGVIEW_IPS: '1.2.3', SIGNALS_QUOTA_FREE: '-1', PUBLIC_BASE_URL: 'ftp://x', WEBHOOK_RATE_LIMIT: 'lots' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['TRUSTED_PROXIES', 'TRADINGVIEW_IPS', 'SIGNALS_QUOTA_FREE', 'PUBLIC_BASE_URL', 'WEBHOOK_RATE_LIMIT']) expect(problems).toContain(name);
  });

  it('refuses proxy ranges that are not CIDR', () => {
    expect(() => readSignalsConfig({ TRUSTED_PROXIES: '10.0.0.0/8, 10.0.0.0/33, fd00::/129, 10.0.0.0/8/1, 10.0.0.0/' })).toThrow(
      'TRUSTED_PROXIES must be a comma-separated list of IP addresses or CIDR ranges (10.0.0.0/8), got "10.0.0.0/33", "fd00::/129", "10.0.0.0/8/1", "10.0.0.0/"',
    );
  });

  it('reads SECRETS_KEYS (the first key seals), and uses a development keyring outside production only', () => {
    const current = Buffer.alloc(32, 1).toString('base64');
    const previous = Buffer.alloc(32, 2).toString('base64');
    const { secretsKeyring } = readSignalsConfig({ SECRETS_KEYS: `k2:${current}, k1:${previous}` });
    expect(secretsKeyring.current).toEqual({ id: 'k2', key: Buffer.alloc(32, 1) });
    expect(secretsKeyring.previous).toEqual([{ id: 'k1', key: Buffer.alloc(32, 2) }]);
    expect(readSignalsConfig({}).secretsKeyring).toEqual(developmentKeyring('signals'));

    const production = { NODE_ENV: 'production', SCREENSHOT_URL_SECRET: 'x'.repeat(32) };
    expect(() => readSignalsConfig(production)).toThrow(/SECRETS_KEYS is required in production/);
    expect(readSignalsConfig({ ...production, SECRETS_KEYS: `k2:${current}` }).secretsKeyring.current.id).toBe('k2');
  });

  it('reports a bad SECRETS_KEYS by its name, without key material', () => {
    const short = Buffer.alloc(16, 3).toString('base64');
    let error: unknown;
    try {
      readSignalsConfig({ SECRETS_KEYS: `k1:${short}` });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('SECRETS_KEYS entry 1 (key id "k1"): the key must be 32 bytes, got 16');
    expect(problems).not.toContain('CREDENTIALS_KEYS');
    expect(problems).not.toContain(short);
  });
});
