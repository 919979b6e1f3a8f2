import { randomBytes } from 'node:crypto';
import { createLogger, createTokenVerifier } from '../../../kit/src';
import { graphqlRequest, testDatabaseUrl, TestIssuer, type GraphQLResponse } from '../../../kit/src/testing';
import { readTradingConfig, type TradingConfig } from '../../src/config';
import type { MarketFeed } from '../../src/market/market-feed';
import { createTradingServer, type TradingServer } from '../../src/server';

export interface TradingHarness {
  server: TradingServer;
  url: string;
  wsUrl: string;
  request<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

/** A pub/sub channel prefix of its own for one test file, so parallel files never hear each other. */
export const uniquePrefix = (name: string): string => `test:${name}:${randomBytes(4).toString('hex')}:`;

/** A fresh database for one test file; servers of the file may share it (two replicas). */
export const testDatabase = (name: string) => testDatabaseUrl(`trading_${name}`);

/**
 * A trading server on port 0. Workers are off unless a feed is given: tests drive the market
 * themselves (`server.startMarket(feed)`, `feed.tick(time)`).
 */
export async function startTrading(options: {
  databaseUrl: string;
  prefix: string;
  env?: Record<string, string>;
  feed?: MarketFeed;
  issuer?: TestIssuer;
}): Promise<TradingHarness> {
  const issuer = options.issuer ?? (await TestIssuer.create());
  const config: TradingConfig = readTradingConfig({
    DATABASE_URL: options.databaseUrl,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    EVENTS_ENABLED: 'false',
    PUBSUB_PREFIX: options.prefix,
    ...options.env,
  });
  const server = await createTradingServer({
    config,
    log: createLogger('trading-test', 'silent'),
    verifyToken: createTokenVerifier(issuer.keys),
    workers: options.feed !== undefined,
    feed: options.feed,
  });
  const url = await server.listen(0);
  await server.pubsub.ready();
  return {
    server,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    request: (query, variables, token) => graphqlRequest(url, query, { variables, token }),
    close: () => server.close(),
  };
}

/** The extension code of the first error. */
export const errorCode = (response: GraphQLResponse): unknown => response.errors?.[0]?.extensions?.code;
