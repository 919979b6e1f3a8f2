import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { printFederatedSdl } from '../../kit/src';
import { buildInventorySchema } from '../src/schema';

/** The part of catalog's schema inventory depends on: it owns Product and resolves `kind`. */
const CATALOG_STUB = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  enum ProductKind { INDICATOR PLAN GOOD }
  type Product @key(fields: "id") { id: ID! kind: ProductKind! name: String! }
  type Query { products: [Product!]! }
`;

describe('inventory SDL', () => {
  let sdl: string;

  beforeAll(async () => {
    sdl = printFederatedSdl(await buildInventorySchema());
  });

  it('extends Product with stock that requires the external kind', () => {
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.7"');
    expect(sdl).toMatch(/type Product\s+@key\(fields: "id"\)/);
    expect(sdl).toMatch(/kind: ProductKind! @external/);
    expect(sdl).toMatch(/stock: StockLevel @requires\(fields: "kind"\)/);
    expect(sdl).toMatch(/enum ProductKind {\s+INDICATOR\s+PLAN\s+GOOD\s+}/);
  });

  it('declares the admin API', () => {
    expect(sdl).toMatch(/adjustStock\([\s\S]*productId: ID![\s\S]*delta: Int![\s\S]*reason: String![\s\S]*\): StockLevel!/);
    expect(sdl).toMatch(/setLowStockThreshold\(productId: ID!, threshold: Int!\): StockLevel!/);
    expect(sdl).toMatch(/stockMovements\([\s\S]*productId: ID![\s\S]*first: Int[\s\S]*\): \[StockMovement!\]!/);
    expect(sdl).toMatch(/type StockLevel {[\s\S]*available: Int![\s\S]*updatedAt: DateTimeISO\n/);
  });

  it('composes with a catalog that owns Product', () => {
    const result = composeServices([
      { name: 'catalog', url: 'http://catalog/graphql', typeDefs: parse(CATALOG_STUB) },
      { name: 'inventory', url: 'http://inventory/graphql', typeDefs: parse(sdl) },
    ]);
    expect(result.errors).toBeUndefined();
    expect(result.supergraphSdl).toContain('stock: StockLevel @join__field(graph: INVENTORY, requires: "kind")');
  });
});
