import { print, type DocumentNode } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createTokenVerifier, remoteKeys } from '../../../subgraphs/kit/src/auth';
import { printFederatedSdl } from '../../../subgraphs/kit/src/federation';
import { createLogger } from '../../../subgraphs/kit/src/logger';
import type { SubgraphServer } from '../../../subgraphs/kit/src/server';
import { graphqlRequest, testDatabaseUrl, type GraphQLResponse } from '../../../subgraphs/kit/src/testing';
import { createCatalogServer } from '../../../subgraphs/catalog/src/server';
import { readCatalogConfig } from '../../../subgraphs/catalog/src/config';
import { createInventoryServer } from '../../../subgraphs/inventory/src/server';
import { readInventoryConfig } from '../../../subgraphs/inventory/src/config';
import { createUsersServer } from '../../../subgraphs/users/src/server';
import { readUsersConfig } from '../../../subgraphs/users/src/config';
import { composeSupergraph } from '../../../scripts/composition';
import { DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { SUBGRAPH_PROCESSES } from '../../../scripts/stack';
import { SUBGRAPH_SCHEMAS } from '../../../scripts/subgraphs';
import { readRouterConfig } from '../../src/config';
import { createRouter } from '../../src/server';

export type SubgraphName = 'users' | 'catalog' | 'inventory';

/** The real subgraphs on port 0, each on a fresh seeded database, composed in-process behind the real router. */
export interface Stack {
  routerUrl: string;
  /** GraphQL requests each subgraph received since the last resetCalls(). */
  calls: Record<SubgraphName, number>;
  resetCalls(): void;
  request<TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TResult, TVariables> | DocumentNode,
    variables?: TVariables,
    token?: string,
  ): Promise<GraphQLResponse<TResult>>;
  close(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const log = createLogger('e2e', 'silent');
  const env = (databaseUrl: string, extra: Record<string, string> = {}) => ({ DATABASE_URL: databaseUrl, NODE_ENV: 'test', LOG_LEVEL: 'silent', ...extra });
  const databases = { users: testDatabaseUrl('e2e_users'), catalog: testDatabaseUrl('e2e_catalog'), inventory: testDatabaseUrl('e2e_inventory') };
  for (const subgraph of SUBGRAPH_PROCESSES) await subgraph.seed(databases[subgraph.name as SubgraphName].url, DEMO_PRODUCTS);

  const servers: Partial<Record<SubgraphName, SubgraphServer>> = {};
  const urls = {} as Record<SubgraphName, string>;
  const calls: Record<SubgraphName, number> = { users: 0, catalog: 0, inventory: 0 };
  const track = (name: SubgraphName, server: SubgraphServer) => {
    servers[name] = server;
    server.httpServer.on('request', (req) => {
      if (req.url?.startsWith('/graphql')) calls[name] += 1;
    });
  };

  track('users', await createUsersServer({ config: readUsersConfig(env(databases.users.url)), log }));
  urls.users = await servers.users!.listen(0);
  const jwksUrl = urls.users.replace('/graphql', '/.well-known/jwks.json');
  const verifyToken = createTokenVerifier(remoteKeys(jwksUrl));
  track('catalog', await createCatalogServer({ config: readCatalogConfig(env(databases.catalog.url)), log, verifyToken }));
  urls.catalog = await servers.catalog!.listen(0);
  track('inventory', await createInventoryServer({ config: readInventoryConfig(env(databases.inventory.url)), log, verifyToken }));
  urls.inventory = await servers.inventory!.listen(0);

  const subgraphs = await Promise.all(
    (Object.keys(urls) as SubgraphName[]).map(async (name) => ({ name, url: urls[name], sdl: printFederatedSdl(await SUBGRAPH_SCHEMAS[name]!()) })),
  );
  const router = await createRouter({
    config: readRouterConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', JWKS_URL: jwksUrl }),
    log,
    verifyToken,
    supergraphSdl: composeSupergraph(subgraphs).supergraphSdl,
  });
  const routerUrl = await router.listen(0);

  return {
    routerUrl,
    calls,
    resetCalls() {
      for (const name of Object.keys(calls) as SubgraphName[]) calls[name] = 0;
    },
    request(document, variables, token) {
      return graphqlRequest(routerUrl, print(document), { variables, token });
    },
    async close() {
      await router.close();
      for (const server of Object.values(servers)) await server.close();
      for (const database of Object.values(databases)) await database.drop();
    },
  };
}
