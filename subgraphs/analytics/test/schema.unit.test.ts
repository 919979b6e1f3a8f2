import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { printFederatedSdl } from '../../kit/src';
import { buildAnalyticsSchema } from '../src/schema';

/** The parts of catalog and users analytics extends: they own Product and User. */
const OWNERS = {
  catalog: `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])
    type Money @shareable { amount: Int! currency: String! }
    type Product @key(fields: "id") { id: ID! name: String! price: Money! }
    type Query { products: [Product!]! }
  `,
  users: `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
    type User @key(fields: "id") { id: ID! email: String! }
    type Query { me: User }
  `,
};

describe('analytics SDL', () => {
  let sdl: string;

  beforeAll(async () => {
    sdl = printFederatedSdl(await buildAnalyticsSchema());
  });

  it('declares the admin reports', () => {
    expect(sdl).toMatch(/salesReport\([\s\S]*from: DateTimeISO![\s\S]*to: DateTimeISO![\s\S]*currency: String[\s\S]*\): SalesReport!/);
    expect(sdl).toMatch(/kpis: Kpis!/);
    expect(sdl).toMatch(/averageOrderValue: Money\n/);
  });

  it('extends Product and User with nullable, guarded fields', () => {
    expect(sdl).toMatch(/type Product\s+@key\(fields: "id"\)\s*{[\s\S]*salesStats: ProductSalesStats\n/);
    expect(sdl).toMatch(/type User\s+@key\(fields: "id"\)\s*{[\s\S]*tradingStats: \[TradingStats!\]\n/);
  });

  it('leaves signal statistics to the signals subgraph', () => {
    expect(sdl).not.toMatch(/SignalStats|signalStats/);
  });

  it('composes with the subgraphs that own Product and User', () => {
    const result = composeServices([
      { name: 'catalog', url: 'http://catalog/graphql', typeDefs: parse(OWNERS.catalog) },
      { name: 'users', url: 'http://users/graphql', typeDefs: parse(OWNERS.users) },
      { name: 'analytics', url: 'http://analytics/graphql', typeDefs: parse(sdl) },
    ]);
    expect(result.errors).toBeUndefined();
    expect(result.supergraphSdl).toContain('salesStats: ProductSalesStats @join__field(graph: ANALYTICS)');
    expect(result.supergraphSdl).toContain('tradingStats: [TradingStats!] @join__field(graph: ANALYTICS)');
  });
});
