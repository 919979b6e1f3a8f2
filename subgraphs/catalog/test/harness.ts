import { createLogger, createTokenVerifier } from '../../kit/src';
import { graphqlRequest, testDatabaseUrl, TestIssuer, type GraphQLResponse } from '../../kit/src/testing';
import { readCatalogConfig } from '../src/config';
import { createCatalogServer, type CatalogServer } from '../src/server';

/** One catalog server on port 0 over a fresh database, with tokens for each kind of caller. */
export interface CatalogHarness {
  server: CatalogServer;
  url: string;
  adminToken: string;
  customerToken: string;
  issuer: TestIssuer;
  request<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
  /** Rows in a table, read outside any request. */
  count(table: 'product' | 'category' | 'product_category' | 'review' | 'outbox' | 'inbox'): Promise<number>;
  close(): Promise<void>;
}

export const ADMIN_ID = '11111111-1111-4111-8111-111111111111';
export const CUSTOMER_ID = '22222222-2222-4222-8222-222222222222';

/** `env` overrides the test settings (events are off unless it turns them on). */
export async function startCatalog(env: Record<string, string> = {}): Promise<CatalogHarness> {
  const database = testDatabaseUrl('catalog');
  const issuer = await TestIssuer.create();
  const config = readCatalogConfig({ DATABASE_URL: database.url, PORT: '0', LOG_LEVEL: 'silent', NODE_ENV: 'test', EVENTS_ENABLED: 'false', ...env });
  let server: CatalogServer;
  try {
    server = await createCatalogServer({ config, log: createLogger('catalog', 'silent'), verifyToken: createTokenVerifier(issuer.keys) });
  } catch (error) {
    await database.drop();
    throw error;
  }
  const url = await server.listen(0);
  return {
    server,
    url,
    issuer,
    adminToken: await issuer.sign(ADMIN_ID, 'ADMIN'),
    customerToken: await issuer.sign(CUSTOMER_ID, 'CUSTOMER'),
    request: (query, variables, token) => graphqlRequest(url, query, { variables, token }),
    async count(table) {
      const [row] = await server.orm.em.fork().execute<{ count: number }[]>(`select count(*)::int as count from "${table}"`);
      return row!.count;
    },
    async close() {
      try {
        await server.close();
      } finally {
        await database.drop();
      }
    },
  };
}

/** The extension code of the first error, for compact assertions. */
export const errorCode = (response: GraphQLResponse): unknown => response.errors?.[0]?.extensions?.code;
