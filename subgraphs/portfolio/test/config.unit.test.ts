import { ConfigError } from '../../kit/src';
import { readPortfolioConfig } from '../src/config';

describe('readPortfolioConfig', () => {
  it('defaults to port 4007, mercado_portfolio, USDT and a 500 ms throttle', () => {
    const config = readPortfolioConfig({});
    expect(config).toMatchObject({
      name: 'portfolio',
      port: 4007,
      pubsubPrefix: 'mercado:pubsub:',
      quoteCurrencies: ['USDT', 'USDC', 'FDUSD', 'BUSD', 'TUSD', 'DAI', 'USD'],
      updateThrottleMs: 500,
      priceFlushMs: 5000,
      snapshotIntervalSeconds: 300,
      snapshotsMaxPage: 1000,
      riskMaxSamples: 10000,
    });
    expect(config.databaseUrl).toMatch(/\/mercado_portfolio$/);
  });

  it('reads its settings', () => {
    const config = readPortfolioConfig({ QUOTE_CURRENCIES: ' USDC, USDT ,USDC', UPDATE_THROTTLE_MS: '250', SNAPSHOT_INTERVAL_SECONDS: '0', PUBSUB_PREFIX: 'x:' });
    expect(config).toMatchObject({ quoteCurrencies: ['USDC', 'USDT'], updateThrottleMs: 250, snapshotIntervalSeconds: 0, pubsubPrefix: 'x:' });
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      readPortfolioConfig({ QUOTE_CURRENCIES: 'usdt,USDC', UPDATE_THROTTLE_MS: 'fast', SNAPSHOT_INTERVAL_SECONDS: '-1' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'UPDATE_THROTTLE_MS must be an integer, got "fast"',
      'SNAPSHOT_INTERVAL_SECONDS must be between 0 and 604800, got -1',
      'QUOTE_CURRENCIES must list currency codes such as USDT, got "usdt"',
    ]);
  });
});
