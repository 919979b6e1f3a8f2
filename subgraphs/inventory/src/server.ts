import {
  createSubgraphServer,
  createTokenVerifier,
  openOrm,
  remoteKeys,
  type Logger,
  type MikroORM,
  type SubgraphServer,
  type TokenVerifier,
} from '../../kit/src';
import type { InventoryConfig } from './config';
import { inventoryEntities, inventoryMigrations } from './mikro-orm.config';
import { buildInventorySchema } from './schema';

export interface InventoryServer extends SubgraphServer {
  /** The server's ORM, for seeds and for tests that watch SQL (`onSql`). Closed by `close()`. */
  orm: MikroORM;
}

/** Builds the inventory subgraph from injected dependencies; reads no environment. */
export async function createInventoryServer(deps: { config: InventoryConfig; log: Logger; verifyToken?: TokenVerifier }): Promise<InventoryServer> {
  const { config, log } = deps;
  const orm = await openOrm({
    databaseUrl: config.databaseUrl,
    entities: inventoryEntities,
    migrations: inventoryMigrations,
    poolSize: config.databasePoolSize,
  });
  try {
    const schema = await buildInventorySchema({
      lowStockDefaultThreshold: config.lowStockDefaultThreshold,
      stockMovementsMaxPage: config.stockMovementsMaxPage,
    });
    const server = await createSubgraphServer({
      name: config.name,
      schema,
      orm,
      log,
      verifyToken: deps.verifyToken ?? createTokenVerifier(remoteKeys(config.jwksUrl)),
    });
    return Object.assign(server, { orm });
  } catch (error) {
    await orm.close();
    throw error;
  }
}
