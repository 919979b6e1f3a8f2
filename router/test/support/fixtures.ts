import { GraphQLError } from 'graphql';
import pino, { type Logger } from 'pino';
import type { TokenVerifier } from '../../../subgraphs/kit/src/auth';
import { readRouterConfig } from '../../src/config';
import type { RouterPlugin } from '../../src/plugins/types';
import { createRouter, type RouterServer } from '../../src/server';
import { deferred, startTestSubgraph, type Deferred, type TestSubgraph } from './subgraph';

export const PRODUCTS = Array.from({ length: 50 }, (_, index) => ({
  id: `p${index + 1}`,
  name: `Product ${index + 1}`,
  price: (index + 1) * 100,
  description: `About product ${index + 1}`,
}));

export const CATALOG_TYPEDEFS = `
type Query {
  products(first: Int = 3): [Product!]!
  product(id: ID!): Product
  slow: String
  failing(kind: String!): String
}
type Mutation {
  renameProduct(id: ID!, name: String!): Product
}
type Product @key(fields: "id") {
  id: ID!
  name: String!
  price: Int!
  description: String
}
`;

/** The catalog SDL without `Product.description`: an older supergraph. */
export const withoutDescription = (sdl: string): string => sdl.replace(/\n\s*description: String/, '');

export interface Catalog extends TestSubgraph {
  /** While set, `products` and `renameProduct` wait for it. */
  hold: Promise<void> | null;
  /** `slow` answers when this is resolved. */
  slow: Deferred<string>;
}

export async function startCatalog(): Promise<Catalog> {
  const control = { hold: null as Promise<void> | null, slow: deferred<string>() };
  const subgraph = await startTestSubgraph({
    name: 'catalog',
    typeDefs: CATALOG_TYPEDEFS,
    resolvers: {
      Query: {
        products: async (_: unknown, { first }: { first: number }) => {
          if (control.hold) await control.hold;
          return PRODUCTS.slice(0, first);
        },
        product: (_: unknown, { id }: { id: string }) => PRODUCTS.find((product) => product.id === id) ?? null,
        slow: () => control.slow.promise,
        failing: (_: unknown, { kind }: { kind: string }) => {
          if (kind === 'not-found') throw new GraphQLError('Product p999 not found', { extensions: { code: 'NOT_FOUND', id: 'p999' } });
          if (kind === 'forbidden') throw new GraphQLError('Not allowed', { extensions: { code: 'FORBIDDEN' } });
          throw new Error('connection to db-7 failed: password=hunter2');
        },
      },
      Mutation: {
        renameProduct: async (_: unknown, { id, name }: { id: string; name: string }) => {
          if (control.hold) await control.hold;
          const product = PRODUCTS.find((candidate) => candidate.id === id);
          return product ? { ...product, name } : null;
        },
      },
      Product: {
        __resolveReference: ({ id }: { id: string }) => PRODUCTS.find((product) => product.id === id) ?? null,
      },
    },
  });
  return Object.defineProperties(subgraph, {
    hold: { get: () => control.hold, set: (value: Promise<void> | null) => (control.hold = value), enumerable: true },
    slow: { get: () => control.slow, enumerable: true },
  }) as Catalog;
}

export async function startInventory(): Promise<TestSubgraph> {
  return startTestSubgraph({
    name: 'inventory',
    typeDefs: `
type Product @key(fields: "id") {
  id: ID!
  stock: Int!
}
`,
    resolvers: {
      Product: {
        __resolveReference: ({ id }: { id: string }) => ({ id, stock: Number(id.slice(1)) * 10 }),
      },
    },
  });
}

/** A logger whose JSON lines the test can read. */
export function captureLogs(level = 'info'): { log: Logger; lines: Record<string, any>[] } {
  const lines: Record<string, any>[] = [];
  const log = pino({ level }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

export const silentLog = (): Logger => pino({ level: 'silent' });

const refuseAll: TokenVerifier = async () => {
  throw new GraphQLError('no tokens in this test', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
};

export interface StartedRouter {
  router: RouterServer;
  /** `http://127.0.0.1:port/graphql` */
  url: string;
  /** `http://127.0.0.1:port` */
  origin: string;
}

/** The real router through createRouter, on port 0, configured as in a test environment. */
export async function startRouter(options: {
  supergraphSdl?: string;
  env?: Record<string, string>;
  verifyToken?: TokenVerifier;
  plugins?: RouterPlugin[];
  log?: Logger;
}): Promise<StartedRouter> {
  const config = readRouterConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...options.env });
  const router = await createRouter({
    config,
    log: options.log ?? silentLog(),
    verifyToken: options.verifyToken ?? refuseAll,
    supergraphSdl: options.supergraphSdl,
    plugins: options.plugins,
  });
  const url = await router.listen(0);
  return { router, url, origin: url.replace(/\/graphql$/, '') };
}

/** POSTs an operation to the router and returns status, headers and the parsed body. */
export async function post(
  url: string,
  query: string,
  options: { variables?: Record<string, unknown>; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: { data?: any; errors?: { message: string; path?: unknown[]; extensions?: Record<string, any> }[] } }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) };
}
