import { ConfigError } from '../../kit/src';
import { readCatalogConfig } from '../src/config';

describe('readCatalogConfig', () => {
  it('defaults to port 4002 and the mercado_catalog database', () => {
    expect(readCatalogConfig({})).toMatchObject({
      name: 'catalog',
      port: 4002,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/mercado_catalog',
      jwksUrl: 'http://127.0.0.1:4001/.well-known/jwks.json',
      databasePoolSize: 10,
    });
  });

  it('reads the environment', () => {
    const config = readCatalogConfig({ PORT: '5002', DATABASE_URL: 'postgres://db/mercado_catalog_x', DATABASE_POOL_SIZE: '4', LOG_LEVEL: 'debug' });
    expect(config).toMatchObject({ port: 5002, databaseUrl: 'postgres://db/mercado_catalog_x', databasePoolSize: 4, logLevel: 'debug' });
  });

  it('reports every invalid variable at once', () => {
    let error: unknown;
    try {
      readCatalogConfig({ PORT: 'eighty', DATABASE_POOL_SIZE: '0', JWKS_URL: 'not a url' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(3);
  });
});
