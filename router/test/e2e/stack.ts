import { print, type DocumentNode } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { createTokenVerifier, JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER, remoteKeys, type Role } from '../../../subgraphs/kit/src/auth';
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
import { readOrdersConfig } from '../../../subgraphs/orders/src/config';
import { createOrdersServer } from '../../../subgraphs/orders/src/server';
import { readPaymentsConfig } from '../../../subgraphs/payments/src/config';
import { createPaymentsServer } from '../../../subgraphs/payments/src/server';
import { SUBGRAPHS } from '../../../subgraphs/kit/src/events';
import { cleanupRedis, REDIS_URL, testPrefix } from '../../../subgraphs/kit/src/events/testing';
import { composeSupergraph } from '../../../scripts/composition';
import { DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { SUBGRAPH_PROCESSES } from '../../../scripts/stack';
import { SUBGRAPH_SCHEMAS } from '../../../scripts/subgraphs';
import { readRouterConfig } from '../../src/config';
import { createRouter } from '../../src/server';

export type SubgraphName = 'users' | 'catalog' | 'orders' | 'payments' | 'inventory';

const STACK_KEY_ID = 'e2e-stack';
const SUBGRAPH_NAMES: SubgraphName[] = ['users', 'catalog', 'orders', 'payments', 'inventory'];

/** The real subgraphs on port 0, each on a fresh seeded database, composed in-process behind the real router. */
export interface Stack {
  routerUrl: string;
  /** GraphQL requests each subgraph received since the last resetCalls(). */
  calls: Record<SubgraphName, number>;
  resetCalls(): void;
  /** The subgraphs' HTTP base URLs (webhooks). */
  baseUrls: Record<SubgraphName, string>;
  request<TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TResult, TVariables> | DocumentNode,
    variables?: TVariables,
    token?: string,
  ): Promise<GraphQLResponse<TResult>>;
  /** An access token for a user who never logged in, signed with the users subgraph's key (load tests). */
  mintToken(userId: string, role?: Role): Promise<string>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Extra environment for one subgraph's config (e.g. Stripe for payments). */
  env?: Partial<Record<SubgraphName, Record<string, string>>>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const log = createLogger('e2e', process.env.E2E_LOG ?? 'silent');
  const eventsPrefix = testPrefix('e2e');
  const env = (name: SubgraphName, databaseUrl: string) => ({
    DATABASE_URL: databaseUrl,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    REDIS_URL,
    EVENTS_PREFIX: eventsPrefix,
    ...options.env?.[name],
  });
  const databases = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, testDatabaseUrl(`e2e_${name}`)])) as Record<SubgraphName, { url: string; drop(): Promise<void> }>;
  for (const subgraph of SUBGRAPH_PROCESSES.filter((process) => SUBGRAPH_NAMES.includes(process.name as SubgraphName))) {
    await subgraph.seed(databases[subgraph.name as SubgraphName].url, DEMO_PRODUCTS);
  }

  const servers: Partial<Record<SubgraphName, SubgraphServer>> = {};
  const urls = {} as Record<SubgraphName, string>;
  const calls = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, 0])) as Record<SubgraphName, number>;
  const track = (name: SubgraphName, server: SubgraphServer) => {
    servers[name] = server;
    server.httpServer.on('request', (req) => {
      if (req.url?.startsWith('/graphql')) calls[name] += 1;
    });
  };

  const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const usersEnv = { ...env('users', databases.users.url), JWT_PRIVATE_KEY: signingKey.export({ type: 'pkcs8', format: 'pem' }).toString(), JWT_KEY_ID: STACK_KEY_ID };
  track('users', await createUsersServer({ config: readUsersConfig(usersEnv), log }));
  urls.users = await servers.users!.listen(0);
  const jwksUrl = urls.users.replace('/graphql', '/.well-known/jwks.json');
  const verifyToken = createTokenVerifier(remoteKeys(jwksUrl));
  track('catalog', await createCatalogServer({ config: readCatalogConfig(env('catalog', databases.catalog.url)), log, verifyToken }));
  track('orders', await createOrdersServer({ config: readOrdersConfig(env('orders', databases.orders.url)), log, verifyToken }));
  track('payments', await createPaymentsServer({ config: readPaymentsConfig(env('payments', databases.payments.url)), log, verifyToken }));
  track('inventory', await createInventoryServer({ config: readInventoryConfig(env('inventory', databases.inventory.url)), log, verifyToken }));
  for (const name of SUBGRAPH_NAMES.filter((name) => name !== 'users')) urls[name] = await servers[name]!.listen(0);

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
    baseUrls: Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, urls[name].replace(/\/graphql$/, '')])) as Record<SubgraphName, string>,
    calls,
    resetCalls() {
      for (const name of Object.keys(calls) as SubgraphName[]) calls[name] = 0;
    },
    request(document, variables, token) {
      return graphqlRequest(routerUrl, print(document), { variables, token });
    },
    mintToken(userId, role = 'CUSTOMER') {
      return new SignJWT({ role, scopes: [] })
        .setProtectedHeader({ alg: JWT_ALGORITHM, kid: STACK_KEY_ID })
        .setSubject(userId)
        .setIssuer(JWT_ISSUER)
        .setAudience(JWT_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('15m')
        .sign(signingKey);
    },
    async close() {
      await router.close();
      for (const server of Object.values(servers)) await server.close();
      for (const database of Object.values(databases)) await database.drop();
      await cleanupRedis(eventsPrefix, SUBGRAPHS);
    },
  };
}

/**
 * Asks `read` again until `done` holds for its answer: the saga moves through queues, so the test
 * waits on the state it expects, bounded so a stuck saga fails the test instead of hanging it.
 */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await read();
  }
  return last;
}
