import { ConfigError } from '../../kit/src';
import { readInventoryConfig } from '../src/config';

describe('readInventoryConfig', () => {
  it('defaults to port 4005, the mercado_inventory database and a threshold of 10', () => {
    const config = readInventoryConfig({});
    expect(config).toMatchObject({
      name: 'inventory',
      port: 4005,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/mercado_inventory',
      lowStockDefaultThreshold: 10,
      stockMovementsMaxPage: 200,
      databasePoolSize: 10,
    });
  });

  it('reads its own variables', () => {
    const config = readInventoryConfig({ PORT: '4105', LOW_STOCK_DEFAULT_THRESHOLD: '3', STOCK_MOVEMENTS_MAX_PAGE: '20', DATABASE_POOL_SIZE: '4' });
    expect(config).toMatchObject({ port: 4105, lowStockDefaultThreshold: 3, stockMovementsMaxPage: 20, databasePoolSize: 4 });
  });

  it('reports every invalid variable at once', () => {
    let error: unknown;
    try {
      readInventoryConfig({ LOW_STOCK_DEFAULT_THRESHOLD: '-1', STOCK_MOVEMENTS_MAX_PAGE: 'many', DATABASE_URL: 'not a url' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('LOW_STOCK_DEFAULT_THRESHOLD');
    expect(problems).toContain('STOCK_MOVEMENTS_MAX_PAGE');
    expect(problems).toContain('DATABASE_URL');
  });
});
