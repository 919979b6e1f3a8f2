import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { printFederatedSdl } from '../../kit/src';
import { buildPortfolioSchema } from '../src/schema';

const committed = (name: string) => readFileSync(join(__dirname, '../../../schema', `${name}.graphql`), 'utf8');

describe('portfolio SDL', () => {
  let sdl: string;

  beforeAll(async () => {
    sdl = printFederatedSdl(await buildPortfolioSchema());
  });

  it('declares Portfolio and extends User and Instrument', () => {
    expect(sdl).toMatch(/type Portfolio\s+@key\(fields: "id"\)/);
    expect(sdl).toMatch(/type User\s+@key\(fields: "id"\)\s*{\s*id: ID![\s\S]*portfolio: Portfolio\n/);
    expect(sdl).toMatch(/type Instrument\s+@key\(fields: "symbol"\)\s*{\s*symbol: String![\s\S]*position: Holding\n/);
    expect(sdl).toMatch(/myPortfolio: Portfolio!/);
    expect(sdl).toMatch(/setTargetAllocations\([\s\S]*targets: \[TargetAllocationInput!\]![\s\S]*\): Portfolio!/);
    expect(sdl).toMatch(/type Subscription {[\s\S]*portfolioUpdated: Portfolio!/);
    expect(sdl).toMatch(/rebalancePlan\([\s\S]*minNotional: String! = "0"[\s\S]*\): RebalancePlan!/);
  });

  it("composes with users and trading (trading's Instrument)", () => {
    const result = composeServices([
      ...['users', 'trading'].map((name) => ({ name, url: `http://${name}/graphql`, typeDefs: parse(committed(name)) })),
      { name: 'portfolio', url: 'http://portfolio/graphql', typeDefs: parse(sdl) },
    ]);
    expect(result.errors).toBeUndefined();
    expect(result.supergraphSdl).toMatch(/position: Holding @join__field\(graph: PORTFOLIO\)/);
  });
});
