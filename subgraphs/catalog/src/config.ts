import { readEnv, readSubgraphConfig, type SubgraphConfig } from '../../kit/src';

export interface CatalogConfig extends SubgraphConfig {
  /** Largest number of database connections this process opens. */
  databasePoolSize: number;
}

/** Parses and validates the catalog's settings once; every problem is reported together. */
export function readCatalogConfig(env: Record<string, string | undefined> = process.env): CatalogConfig {
  const reader = readEnv(env);
  const config: CatalogConfig = {
    ...readSubgraphConfig('catalog', 4002, reader),
    databasePoolSize: reader.int('DATABASE_POOL_SIZE', 10, { min: 1, max: 100 }),
  };
  reader.done();
  return config;
}
