import { ConfigError } from '../../../subgraphs/kit/src/config';
import { readRouterConfig } from '../../src/config';

describe('subscription settings', () => {
  it('reads every SUBSCRIPTION_ variable', () => {
    expect(
      readRouterConfig({
        SUBSCRIPTION_INIT_TIMEOUT_MS: '1500',
        SUBSCRIPTION_KEEPALIVE_MS: '0',
        SUBSCRIPTION_MAX_PER_CONNECTION: '20',
        SUBSCRIPTION_RECONNECT_MAX_MS: '60000',
        SUBSCRIPTION_SHARED_FIELDS: ' priceUpdated, instrumentStatus ,priceUpdated',
      }),
    ).toMatchObject({
      subscriptionInitTimeoutMs: 1500,
      subscriptionKeepAliveMs: 0,
      subscriptionMaxPerConnection: 20,
      subscriptionReconnectMaxMs: 60_000,
      subscriptionSharedFields: ['priceUpdated', 'instrumentStatus'],
    });
  });

  it('shares nothing with SUBSCRIPTION_SHARED_FIELDS=none', () => {
    expect(readRouterConfig({ SUBSCRIPTION_SHARED_FIELDS: 'none' }).subscriptionSharedFields).toEqual([]);
  });

  it('reports invalid values together', () => {
    let error: unknown;
    try {
      readRouterConfig({ SUBSCRIPTION_INIT_TIMEOUT_MS: '0', SUBSCRIPTION_MAX_PER_CONNECTION: 'many', SUBSCRIPTION_SHARED_FIELDS: 'priceUpdated,price-updated' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'SUBSCRIPTION_INIT_TIMEOUT_MS must be between 1 and 300000, got 0',
      'SUBSCRIPTION_MAX_PER_CONNECTION must be an integer, got "many"',
      'SUBSCRIPTION_SHARED_FIELDS must list GraphQL field names (or be "none"), got "price-updated"',
    ]);
  });
});
