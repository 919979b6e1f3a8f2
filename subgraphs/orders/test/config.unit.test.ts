import { ConfigError } from '../../kit/src';
import { readOrdersConfig } from '../src/config';

describe('readOrdersConfig', () => {
  it('defaults to port 4003 and the mercado_orders database, with events on', () => {
    expect(readOrdersConfig({})).toMatchObject({
      name: 'orders',
      port: 4003,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/mercado_orders',
      databasePoolSize: 10,
      defaultCurrency: 'USD',
      cartMaxLines: 50,
      ordersMaxPage: 100,
      eventsEnabled: true,
      eventsPrefix: undefined,
      eventsConcurrency: 10,
      pubsubPrefix: 'mercado:pubsub:',
    });
  });

  it('reads its own variables', () => {
    const config = readOrdersConfig({
      PORT: '4103',
      DEFAULT_CURRENCY: 'EUR',
      CART_MAX_LINES: '5',
      ORDERS_MAX_PAGE: '20',
      EVENTS_ENABLED: 'false',
      EVENTS_PREFIX: 'mercado',
      PUBSUB_PREFIX: 'staging:pubsub:',
    });
    expect(config).toMatchObject({
      port: 4103,
      defaultCurrency: 'EUR',
      cartMaxLines: 5,
      ordersMaxPage: 20,
      eventsEnabled: false,
      eventsPrefix: 'mercado',
      pubsubPrefix: 'staging:pubsub:',
    });
  });

  it('reports every invalid variable at once', () => {
    let error: unknown;
    try {
      readOrdersConfig({ DEFAULT_CURRENCY: 'dollars', CART_MAX_LINES: '0', EVENTS_ENABLED: 'maybe', DATABASE_URL: 'not a url' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['DEFAULT_CURRENCY', 'CART_MAX_LINES', 'EVENTS_ENABLED', 'DATABASE_URL']) expect(problems).toContain(name);
  });
});
