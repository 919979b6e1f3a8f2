import { randomUUID } from 'node:crypto';
import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { createLogger, createTokenVerifier, onSql, printFederatedSdl } from '../../kit/src';
import { graphqlRequest, testDatabaseUrl, TestIssuer } from '../../kit/src/testing';
import { readInventoryConfig } from '../src/config';
import { buildInventorySchema } from '../src/schema';
import { createInventoryServer, type InventoryServer } from '../src/server';

/** Stands in for catalog: owns Product and its kind, knows nothing of stock. */
const CATALOG_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  enum ProductKind { INDICATOR PLAN GOOD }
  type Product @key(fields: "id") { id: ID! kind: ProductKind! name: String! }
  type Query { products: [Product!]! }
`;

interface Fetch {
  url: string;
  representations?: { __typename: string; id: string; kind?: string }[];
}

/** Through a real gateway: the router sends the kind it fetched from catalog and batches all products into one fetch. */
describe('inventory behind the gateway', () => {
  const database = testDatabaseUrl('inventory_gateway');
  const products = Array.from({ length: 50 }, (_, index) => ({
    id: randomUUID(),
    name: `Product ${index}`,
    kind: index % 5 === 0 ? 'PLAN' : index % 7 === 0 ? 'INDICATOR' : 'GOOD',
  }));
  const fetches: Fetch[] = [];
  let inventory: InventoryServer;
  let inventoryUrl: string;
  let catalog: ApolloServer;
  let router: ApolloServer;

  beforeAll(async () => {
    const issuer = await TestIssuer.create();
    inventory = await createInventoryServer({
      config: readInventoryConfig({ DATABASE_URL: database.url, NODE_ENV: 'test', LOG_LEVEL: 'silent', EVENTS_ENABLED: 'false' }),
      log: createLogger('inventory-test', 'silent'),
      verifyToken: createTokenVerifier(issuer.keys),
    });
    inventoryUrl = await inventory.listen(0);
    const admin = await issuer.sign('admin-1', 'ADMIN');
    for (const [index, product] of products.entries()) {
      if (product.kind !== 'GOOD' || index % 2 === 0) continue;
      const adjusted = await graphqlRequest(inventoryUrl, 'mutation($id: ID!, $delta: Int!) { adjustStock(productId: $id, delta: $delta, reason: "stocked") { onHand } }', {
        variables: { id: product.id, delta: index },
        token: admin,
      });
      expect(adjusted.errors).toBeUndefined();
    }

    catalog = new ApolloServer({
      schema: buildSubgraphSchema({
        typeDefs: parse(CATALOG_SDL),
        resolvers: {
          Query: { products: () => products },
          Product: { __resolveReference: (reference: { id: string }) => products.find((product) => product.id === reference.id) ?? null },
        },
      }),
      plugins: [ApolloServerPluginInlineTraceDisabled()],
    });
    const { url: catalogUrl } = await startStandaloneServer(catalog, { listen: { port: 0, host: '127.0.0.1' } });

    const composed = composeServices([
      { name: 'catalog', url: catalogUrl, typeDefs: parse(CATALOG_SDL) },
      { name: 'inventory', url: inventoryUrl, typeDefs: parse(printFederatedSdl(await buildInventorySchema())) },
    ]);
    expect(composed.errors).toBeUndefined();

    class RecordingDataSource extends RemoteGraphQLDataSource {
      override willSendRequest({ request }: GraphQLDataSourceProcessOptions): void {
        fetches.push({ url: this.url!, representations: request.variables?.representations as Fetch['representations'] });
      }
    }
    const gateway = new ApolloGateway({ supergraphSdl: composed.supergraphSdl!, buildService: ({ url }) => new RecordingDataSource({ url }) });
    router = new ApolloServer({ gateway });
    await router.start();
  });

  afterAll(async () => {
    await router?.stop();
    await catalog?.stop();
    await inventory?.close();
    await database.drop();
  });

  it('answers 50 products with one _entities fetch of 50 representations and one SQL query', async () => {
    fetches.length = 0;
    const statements: string[] = [];
    const stop = onSql(inventory.orm, (sql) => statements.push(sql));
    let response;
    try {
      response = await router.executeOperation({ query: '{ products { id kind stock { onHand available } } }' });
    } finally {
      stop();
    }
    expect(response.body.kind).toBe('single');
    const result = response.body.kind === 'single' ? response.body.singleResult : null;
    expect(result?.errors).toBeUndefined();

    const expected = products.map((product, index) => ({
      id: product.id,
      kind: product.kind,
      stock: product.kind !== 'GOOD' ? null : index % 2 === 0 ? { onHand: 0, available: 0 } : { onHand: index, available: index },
    }));
    expect(result?.data?.products).toEqual(expected);

    const inventoryFetches = fetches.filter((fetch) => fetch.url === inventoryUrl);
    expect(inventoryFetches).toHaveLength(1);
    expect(inventoryFetches[0]!.representations).toEqual(products.map(({ id, kind }) => ({ __typename: 'Product', id, kind })));
    expect(statements.filter((sql) => /stock_level/.test(sql))).toHaveLength(1);
  });
});
