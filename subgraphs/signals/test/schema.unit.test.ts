import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { printFederatedSdl } from '../../kit/src';
import { buildSignalsSchema } from '../src/schema';

/** What signals relies on from the subgraphs that own User and Instrument. */
const OWNERS = [
  {
    name: 'users',
    sdl: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type User @key(fields: "id") { id: ID! email: String! }
      type Query { me: User }`,
  },
  {
    name: 'trading',
    sdl: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type Instrument @key(fields: "symbol") { symbol: String! lastPrice: String! }
      type Query { instruments: [Instrument!]! }`,
  },
];

describe('signals SDL', () => {
  let sdl: string;

  beforeAll(async () => {
    sdl = printFederatedSdl(await buildSignalsSchema());
  });

  it('owns Signal and WebhookEndpoint and extends User and Instrument', () => {
    expect(sdl).toMatch(/type Signal\s+@key\(fields: "id"\)/);
    expect(sdl).toMatch(/type WebhookEndpoint\s+@key\(fields: "id"\)/);
    expect(sdl).toMatch(/type User\s+@key\(fields: "id"\)\s*{[\s\S]*signals\(/);
    expect(sdl).toMatch(/type Instrument\s+@key\(fields: "symbol"\)\s*{[\s\S]*signals\(/);
    expect(sdl).toMatch(/enum SignalResult {\s+PENDING\s+WIN\s+LOSS[\s\S]*SKIP\n}/);
  });

  it('declares the issue\'s API', () => {
    for (const field of ['signals(', 'signal(id: ID!): Signal!', 'signalStats: SignalStats!', 'markSignalResult(', 'createWebhookEndpoint(', 'rotateWebhookToken(id: ID!)', 'revokeWebhookEndpoint(id: ID!)', 'signalReceived: Signal!', 'signalUpdated(id: ID): Signal!']) {
      expect(sdl).toContain(field);
    }
    expect(sdl).toMatch(/type SignalStats {[\s\S]*total: Int![\s\S]*thisMonth: Int![\s\S]*screenshotsPending: Int![\s\S]*winRate: String/);
    expect(sdl).toMatch(/type SignalScreenshot {[\s\S]*status: ScreenshotStatus![\s\S]*url: String/);
    // The token is never a field: it is in the URL of create and rotate only.
    expect(sdl).not.toMatch(/type WebhookEndpoint {[^}]*(token|url)/);
  });

  it('describes a TradingView session without its cookie values', () => {
    for (const field of ['tradingViewSession: TradingViewSession!', 'setTradingViewSession(input: SetTradingViewSessionInput!): TradingViewSession!', 'clearTradingViewSession: TradingViewSession!']) {
      expect(sdl).toContain(field);
    }
    const type = /type TradingViewSession {([^}]*)}/.exec(sdl)?.[1] ?? '';
    expect(type.match(/^\s+\w+(?=[:(])/gm)?.map((name) => name.trim())).toEqual(['connected', 'updatedAt', 'defaultChartId', 'cookieNames']);
  });

  it('composes with the owners of User and Instrument', () => {
    const result = composeServices([
      ...OWNERS.map((owner) => ({ name: owner.name, url: `http://${owner.name}/graphql`, typeDefs: parse(owner.sdl) })),
      { name: 'signals', url: 'http://signals/graphql', typeDefs: parse(sdl) },
    ]);
    expect(result.errors).toBeUndefined();
  });
});
