import { createLogger, createTokenVerifier } from '../../kit/src';
import { TestIssuer } from '../../kit/src/testing';
import { readTradingConfig } from '../src/config';
import { priceTopic } from '../src/market/market-recorder';
import { DEMO_INSTRUMENTS, seedTrading } from '../src/seeds/trading.seed';
import { createTradingServer, type TradingServer } from '../src/server';
import { testDatabase, uniquePrefix } from './support/harness';

jest.setTimeout(30_000);

/** Waits until `check` holds, looking again every 50 ms. */
async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Replicas that all ask for the paper feed: one runs it, and another takes over when it goes away. */
describe('market feed in one replica', () => {
  const database = testDatabase('feed_lease');
  const prefix = uniquePrefix('feed_lease');
  const replicas: TradingServer[] = [];
  let issuer: TestIssuer;

  const replica = async (): Promise<TradingServer> => {
    const config = readTradingConfig({
      DATABASE_URL: database.url,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      EVENTS_ENABLED: 'false',
      PUBSUB_PREFIX: prefix,
      MARKET_FEED: 'paper',
      PAPER_TICK_MS: '50',
      // Short enough for a quick takeover, long enough that a loaded machine (the full suite) never
      // delays the holder's renewals past it.
      MARKET_FEED_LEASE_MS: '3000',
    });
    const server = await createTradingServer({ config, log: createLogger('feed-lease-test', 'silent'), verifyToken: createTokenVerifier(issuer.keys), workers: true });
    replicas.push(server);
    return server;
  };

  beforeAll(async () => {
    issuer = await TestIssuer.create();
    // The first replica migrates the database; the instruments are seeded before any feed starts.
    const seeding = await createTradingServer({
      config: readTradingConfig({ DATABASE_URL: database.url, NODE_ENV: 'test', LOG_LEVEL: 'silent', EVENTS_ENABLED: 'false', PUBSUB_PREFIX: prefix }),
      log: createLogger('feed-lease-test', 'silent'),
      verifyToken: createTokenVerifier(issuer.keys),
      workers: false,
    });
    await seedTrading(seeding.orm.em.fork(), DEMO_INSTRUMENTS, { historyDays: 0 });
    await seeding.close();
  });

  afterAll(async () => {
    await Promise.all(replicas.map((server) => server.close()));
    await database.drop();
  });

  it('runs the feed in exactly one replica and moves it when that replica stops', async () => {
    const first = await replica();
    const second = await replica();
    expect(first.feed).not.toBeNull();
    expect(second.feed).toBeNull();

    // The other replica serves the running feed's prices, heard through Redis.
    const prices = second.pubsub.subscribe(priceTopic('BTC/USDT'))[Symbol.asyncIterator]();
    const heard = await prices.next();
    expect(heard.value).toMatchObject({ symbol: 'BTC/USDT' });
    await prices.return?.();

    await first.close();
    replicas.splice(replicas.indexOf(first), 1);
    await until('the second replica running the feed', () => second.feed !== null);
    expect(second.feed?.kind).toBe('paper');
  });
});
