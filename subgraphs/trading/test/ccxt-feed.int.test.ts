import { createLogger } from '../../kit/src';
import { CcxtFeed, type CcxtFeedOptions } from '../src/market/ccxt-feed';
import { nextEvent, type Candle, type FeedStatus, type Tick } from '../src/market/market-feed';
import { DEMO_INSTRUMENTS, seedTrading } from '../src/seeds/trading.seed';
import { FakeBinance, type FakeStreamMessage } from './support/fake-binance';
import { startTrading, testDatabase, uniquePrefix } from './support/harness';

const log = createLogger('ccxt-feed-test', 'silent');

/** Runs the real ccxt `binance` class against the local fake, polling unless `websocket` is turned on. */
function feedAt(fake: FakeBinance, overrides: Partial<CcxtFeedOptions> = {}): CcxtFeed {
  return new CcxtFeed({
    exchange: 'binance',
    symbols: ['BTC/USDT', 'ETH/USDT', 'DOGE/USDT'],
    pollMs: 20,
    staleMs: 60_000,
    backoffMs: 10,
    backoffMaxMs: 40,
    websocket: false,
    apiUrls: fake.apiUrls,
    // The fake has no rate limits; ccxt's throttle would only slow the test down.
    exchangeOptions: { enableRateLimit: false },
    log,
    ...overrides,
  });
}

/** Records every status a feed reports. */
function statuses(feed: CcxtFeed): FeedStatus[] {
  const seen: FeedStatus[] = [];
  feed.events.on('status', (status) => seen.push(status));
  return seen;
}

describe('ccxt market feed against a local Binance', () => {
  let fake: FakeBinance;
  const feeds: CcxtFeed[] = [];
  const track = (feed: CcxtFeed): CcxtFeed => {
    feeds.push(feed);
    return feed;
  };

  beforeEach(async () => {
    fake = await FakeBinance.start();
    fake.setTicker('BTCUSDT', { lastPrice: '65000.12000000', priceChangePercent: '1.234', volume: '12345.67800000' });
    fake.setTicker('ETHUSDT', { lastPrice: '3500.50000000', priceChangePercent: '-0.501', volume: '98765.43210000' });
  });

  afterEach(async () => {
    await Promise.all(feeds.splice(0).map((feed) => feed.stop()));
    await fake.close();
  });

  it('loads markets and parses tickers into decimal strings; unlisted symbols are skipped', async () => {
    const feed = track(feedAt(fake));
    const ticks: Tick[] = [];
    feed.events.on('tick', (tick) => ticks.push(tick));
    const live = nextEvent(feed.events, 'status', (status) => status.state === 'live');
    const eth = nextEvent(feed.events, 'tick', (tick) => tick.symbol === 'ETH/USDT');
    feed.start();

    await expect(live).resolves.toEqual({ state: 'live', session: 1, mode: 'poll' });
    await expect(eth).resolves.toEqual({
      symbol: 'ETH/USDT', exchange: 'binance', lastPrice: '3500.5', change24h: '-0.5', volume24h: '98765.4321', timestamp: expect.any(Number),
    });
    expect(ticks.find((tick) => tick.symbol === 'BTC/USDT')).toMatchObject({ lastPrice: '65000.12', change24h: '1.23', volume24h: '12345.678' });
    expect(ticks.some((tick) => tick.symbol === 'DOGE/USDT')).toBe(false);

    // Spot market data only: no futures exchangeInfo, no private currency or margin endpoints.
    const paths = new Set(fake.requests.map((request) => request.path));
    expect(paths.has('/api/v3/exchangeInfo') && paths.has('/api/v3/ticker/24hr')).toBe(true);
    expect([...paths].filter((path) => !['/api/v3/exchangeInfo', '/api/v3/ticker/24hr', '/api/v3/klines'].includes(path))).toEqual([]);
    const tickerRequest = fake.requests.find((request) => request.path === '/api/v3/ticker/24hr')!;
    expect(JSON.parse(tickerRequest.query.get('symbols')!)).toEqual(['BTCUSDT', 'ETHUSDT']);

    // A new price on the exchange reaches the feed on a later poll.
    const moved = nextEvent(feed.events, 'tick', (tick) => tick.symbol === 'BTC/USDT' && tick.lastPrice === '65100');
    fake.setTicker('BTCUSDT', { lastPrice: '65100.00000000' });
    await expect(moved).resolves.toMatchObject({ lastPrice: '65100' });
  });

  it('backfills closed one-minute candles with fetchOHLCV', async () => {
    const feed = track(feedAt(fake, { symbols: ['BTC/USDT'] }));
    const candles: Candle[] = [];
    const enough = new Promise<void>((resolve) =>
      feed.events.on('candle', (candle) => {
        candles.push(candle);
        if (candles.length === 3) resolve();
      }),
    );
    feed.start();
    await enough;
    for (const candle of candles) {
      expect(candle).toEqual({
        symbol: 'BTC/USDT', openTime: expect.any(Number), closeTime: candle.openTime + 60_000,
        open: '65000.12', high: '65000.12', low: '65000.12', close: '65000.12', volume: '1.5',
      });
      expect(candle.openTime % 60_000).toBe(0);
    }
    expect(candles[1]!.openTime - candles[0]!.openTime).toBe(60_000);
  });

  it('backs off exponentially on errors, up to the maximum, and recovers', async () => {
    const feed = track(feedAt(fake));
    const seen = statuses(feed);
    await (async () => {
      const live = nextEvent(feed.events, 'status', (status) => status.state === 'live');
      feed.start();
      await live;
    })();

    // Binance answers 503 to the next five ticker requests.
    fake.fail(5, { path: '/api/v3/ticker/24hr' });
    const fifth = nextEvent(feed.events, 'status', (status) => status.state === 'backoff' && status.attempt === 5);
    await fifth;
    const recovered = nextEvent(feed.events, 'tick', (tick) => tick.symbol === 'BTC/USDT' && tick.lastPrice === '64000');
    fake.setTicker('BTCUSDT', { lastPrice: '64000.00000000' });
    await recovered;

    const backoffs = seen.filter((status): status is Extract<FeedStatus, { state: 'backoff' }> => status.state === 'backoff');
    expect(backoffs.map((status) => [status.attempt, status.delayMs])).toEqual([[1, 10], [2, 20], [3, 40], [4, 40], [5, 40]]);
    expect(backoffs[0]!.error).toMatch(/binance/i);
    // The same exchange instance carried on: errors alone do not reconnect.
    expect(feed.sessions).toBe(1);
    expect(seen.filter((status) => status.state === 'live').length).toBe(2);

    // A success resets the delay: the next error starts again at the first step.
    const again = nextEvent(feed.events, 'status', (status) => status.state === 'backoff');
    fake.fail(1, { path: '/api/v3/ticker/24hr' });
    await expect(again).resolves.toMatchObject({ attempt: 1, delayMs: 10 });
  });

  it('detects a stale stream, recreates the exchange and recovers', async () => {
    const feed = track(feedAt(fake, { staleMs: 300 }));
    const seen = statuses(feed);
    const live = nextEvent(feed.events, 'status', (status) => status.state === 'live');
    feed.start();
    await live;

    // The exchange stops answering: requests hang.
    const stale = nextEvent(feed.events, 'status', (status) => status.state === 'stale');
    fake.hang();
    await expect(stale).resolves.toMatchObject({ state: 'stale', session: 1 });
    const reconnecting = nextEvent(feed.events, 'status', (status) => status.state === 'connecting' && status.session >= 2);
    await reconnecting;

    // It answers again with a new price: the feed picks it up on a fresh exchange instance.
    const recovered = nextEvent(feed.events, 'tick', (tick) => tick.symbol === 'ETH/USDT' && tick.lastPrice === '3600');
    fake.setTicker('ETHUSDT', { lastPrice: '3600.00000000' });
    fake.resume();
    await recovered;
    const liveAgain = seen.filter((status) => status.state === 'live').pop()!;
    expect(liveAgain.session).toBeGreaterThanOrEqual(2);
    expect(feed.sessions).toBeGreaterThanOrEqual(2);
    // Every new session loaded the markets again.
    expect(fake.requests.filter((request) => request.path === '/api/v3/exchangeInfo').length).toBeGreaterThanOrEqual(2);
  });

  it('stops promptly even while a request hangs', async () => {
    const feed = track(feedAt(fake));
    const live = nextEvent(feed.events, 'status', (status) => status.state === 'live');
    feed.start();
    await live;
    const held = new Promise<void>((resolve) => fake.on('request', (request) => request.outcome === 'held' && resolve()));
    fake.hang();
    await held;
    const stopped = nextEvent(feed.events, 'status', (status) => status.state === 'stopped');
    await feed.stop();
    await expect(stopped).resolves.toMatchObject({ state: 'stopped', session: 1 });
  });

  describe('streaming with watchTickers (ccxt.pro over WebSockets)', () => {
    const streamingFeed = (overrides: Partial<CcxtFeedOptions> = {}): CcxtFeed => track(feedAt(fake, { websocket: true, ...overrides }));
    const subscriptions = (): FakeStreamMessage[] => fake.streamMessages.filter((message) => message.method === 'SUBSCRIBE');

    it('subscribes once to the listed symbols\' mini tickers and streams their moves, polling no ticker', async () => {
      const feed = streamingFeed();
      const live = nextEvent(feed.events, 'status', (status) => status.state === 'live');
      const eth = nextEvent(feed.events, 'tick', (tick) => tick.symbol === 'ETH/USDT');
      feed.start();

      await expect(live).resolves.toEqual({ state: 'live', session: 1, mode: 'watch' });
      // The same figures polling reads from the REST ticker (the change derived from the stream's open price).
      await expect(eth).resolves.toEqual({
        symbol: 'ETH/USDT', exchange: 'binance', lastPrice: '3500.5', change24h: '-0.5', volume24h: '98765.4321', timestamp: expect.any(Number),
      });

      for (const price of ['65100', '65050.5']) {
        const moved = nextEvent(feed.events, 'tick', (tick) => tick.symbol === 'BTC/USDT' && tick.lastPrice === price);
        fake.setPrice('BTCUSDT', price);
        await expect(moved).resolves.toMatchObject({ lastPrice: price, change24h: '1.23', volume24h: '12345.678' });
      }
      // Two moves at once: the second arrives while no call waits on the stream, and is not lost.
      const both = Promise.all([
        nextEvent(feed.events, 'tick', (tick) => tick.symbol === 'BTC/USDT' && tick.lastPrice === '65200'),
        nextEvent(feed.events, 'tick', (tick) => tick.symbol === 'ETH/USDT' && tick.lastPrice === '3510'),
      ]);
      fake.setPrice('BTCUSDT', '65200');
      fake.setPrice('ETHUSDT', '3510');
      await both;
      // DOGE/USDT is not listed: not subscribed. Waiting for the next tick did not subscribe again.
      expect(subscriptions()).toEqual([{ connection: 1, method: 'SUBSCRIBE', params: ['btcusdt@miniTicker', 'ethusdt@miniTicker'], id: expect.anything() }]);
      expect(fake.requests.filter((request) => request.path === '/api/v3/ticker/24hr')).toEqual([]);
      expect(fake.openStreams).toBe(1);
    });

    it('backs off when the exchange cuts the stream, then connects and subscribes again', async () => {
      // No candle requests: once live, the feed is always waiting on the stream when it is cut.
      const feed = streamingFeed({ candles: false });
      const seen = statuses(feed);
      const live = nextEvent(feed.events, 'status', (status) => status.state === 'live');
      feed.start();
      await live;

      const backoff = nextEvent(feed.events, 'status', (status) => status.state === 'backoff');
      const resubscribed = new Promise<FakeStreamMessage>((resolve) => fake.on('stream', (message) => message.connection === 2 && message.method === 'SUBSCRIBE' && resolve(message)));
      fake.dropStreams();
      await expect(backoff).resolves.toMatchObject({ state: 'backoff', session: 1, attempt: 1, delayMs: 10 });
      await expect(resubscribed).resolves.toMatchObject({ params: ['btcusdt@miniTicker', 'ethusdt@miniTicker'] });

      const moved = nextEvent(feed.events, 'tick', (tick) => tick.symbol === 'ETH/USDT' && tick.lastPrice === '3600');
      fake.setPrice('ETHUSDT', '3600');
      await moved;
      // The same exchange instance reconnected: a cut stream is an error, not a stale session.
      expect(feed.sessions).toBe(1);
      expect(seen.filter((status) => status.state === 'live')).toEqual([{ state: 'live', session: 1, mode: 'watch' }, { state: 'live', session: 1, mode: 'watch' }]);
      expect(fake.openStreams).toBe(1);
    });

    it('takes a quiet stream for stale: closes its connection, recreates the exchange and subscribes again', async () => {
      const feed = streamingFeed({ staleMs: 300 });
      const live = nextEvent(feed.events, 'status', (status) => status.state === 'live');
      feed.start();
      await live;

      // No price moves: nothing arrives on the stream.
      const firstClosed = new Promise<number>((resolve) => fake.on('streamClosed', (connection) => connection === 1 && resolve(connection)));
      const stale = nextEvent(feed.events, 'status', (status) => status.state === 'stale');
      const liveAgain = nextEvent(feed.events, 'status', (status) => status.state === 'live' && status.session === 2);
      await expect(stale).resolves.toMatchObject({ state: 'stale', session: 1 });
      await firstClosed;
      await expect(liveAgain).resolves.toEqual({ state: 'live', session: 2, mode: 'watch' });
      expect(subscriptions().map((message) => message.connection).slice(0, 2)).toEqual([1, 2]);
    });

    it('closes its stream when stopped while waiting for the next ticker', async () => {
      const feed = streamingFeed();
      const live = nextEvent(feed.events, 'status', (status) => status.state === 'live');
      feed.start();
      await live;
      const closed = new Promise<number>((resolve) => fake.on('streamClosed', resolve));
      const stopped = nextEvent(feed.events, 'status', (status) => status.state === 'stopped');
      await feed.stop();
      await expect(stopped).resolves.toMatchObject({ state: 'stopped', session: 1 });
      await expect(closed).resolves.toBe(1);
      expect(fake.openStreams).toBe(0);
    });
  });
});

describe('trading server with the ccxt feed', () => {
  const database = testDatabase('ccxt');
  let fake: FakeBinance;

  beforeAll(async () => {
    fake = await FakeBinance.start();
    fake.setTicker('BTCUSDT', { lastPrice: '66000.50000000', priceChangePercent: '2.5', volume: '1000.00000000' });
  });

  afterAll(async () => {
    await fake.close();
    await database.drop();
  });

  it('records exchange prices and candles: instrument rows and the candles query', async () => {
    const seeding = await startTrading({ databaseUrl: database.url, prefix: uniquePrefix('ccxt') });
    await seedTrading(seeding.server.orm.em.fork(), DEMO_INSTRUMENTS.filter((instrument) => instrument.symbol === 'BTC/USDT'), { historyDays: 0 });
    await seeding.close();

    const feed = feedAt(fake, { symbols: ['BTC/USDT'] });
    const firstTick = nextEvent(feed.events, 'tick');
    const firstCandle = nextEvent(feed.events, 'candle');
    const trading = await startTrading({ databaseUrl: database.url, prefix: uniquePrefix('ccxt'), feed });
    try {
      expect(trading.server.feed).toBe(feed);
      await firstTick;
      const candle = await firstCandle;
      await trading.server.recorder!.flush();

      const instrument = await trading.request(`{ instrument(symbol: "BTC/USDT") { symbol exchange lastPrice change24h volume24h } }`);
      expect(instrument.data!.instrument).toEqual({ symbol: 'BTC/USDT', exchange: 'binance', lastPrice: '66000.5', change24h: '2.5', volume24h: '1000' });

      const from = new Date(candle.openTime).toISOString();
      const to = new Date(candle.closeTime).toISOString();
      const candles = await trading.request(`query($from: DateTimeISO, $to: DateTimeISO) { candles(symbol: "BTC/USDT", timeframe: "1m", from: $from, to: $to) { openTime open close volume } }`, { from, to });
      expect(candles.data!.candles).toEqual([{ openTime: from, open: '66000.5', close: '66000.5', volume: '1.5' }]);
    } finally {
      await trading.close();
    }
    // close() stopped the feed.
    expect(trading.server.feed).toBeNull();
  });
});
