import { createSubgraphServer, createTokenVerifier, openOrm, remoteKeys, type Logger, type MikroORM, type RoleDeps, type SubgraphServer, type TokenVerifier } from '../../kit/src';
import type { CatalogConfig } from './config';
import { catalogEntities, catalogMigrations } from './mikro-orm.config';
import { reviewEventHandlers } from './review/review.events';
import { buildCatalogSchema } from './schema';

export interface CatalogServer extends SubgraphServer {
  /** The server's ORM, for seeding and for tests (SQL counting); closed by `close()`. */
  orm: MikroORM;
}

/**
 * Builds the catalog server from injected dependencies; reads no environment. Opens the ORM
 * (creating and migrating the database), which `close()` shuts again. With events enabled it runs
 * the outbox relay and, with workers (the default), the consumer of `events-catalog` (UserDeleted).
 */
export async function createCatalogServer(deps: { config: CatalogConfig; log: Logger; verifyToken?: TokenVerifier } & RoleDeps): Promise<CatalogServer> {
  const { config, log } = deps;
  const schema = await buildCatalogSchema();
  const orm = await openOrm({ databaseUrl: config.databaseUrl, entities: catalogEntities, migrations: catalogMigrations, poolSize: config.databasePoolSize });
  try {
    const server = await createSubgraphServer({
      name: 'catalog',
      traces: config.traces,
      schema,
      orm,
      log,
      verifyToken: deps.verifyToken ?? createTokenVerifier(remoteKeys(config.jwksUrl)),
      api: deps.api,
      // The relay publishes ProductChanged; the consumer erases a deleted user's reviews.
      events: config.eventsEnabled
        ? {
            redis: config.redisUrl,
            prefix: config.eventsPrefix,
            concurrency: config.eventsConcurrency,
            batchSize: config.eventsBatchSize,
            pollIntervalMs: config.eventsPollMs,
            handlers: (deps.workers ?? true) ? reviewEventHandlers : undefined,
          }
        : undefined,
    });
    return Object.assign(server, { orm });
  } catch (error) {
    await orm.close();
    throw error;
  }
}
