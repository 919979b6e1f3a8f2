import { EventEmitter } from 'node:events';
import { parse, subscribe, type ExecutionResult } from 'graphql';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { createLogger, LoaderCache, type RequestContext } from '../../kit/src';
import { TestIssuer } from '../../kit/src/testing';
import { InstrumentEntity } from '../src/market/instrument.entity';
import type { Tick } from '../src/market/market-feed';
import { paperInstrumentOf } from '../src/market/market-runtime';
import { priceTopic } from '../src/market/market-recorder';
import { PaperFeed } from '../src/market/paper-feed';
import { DEMO_INSTRUMENTS, seedTrading } from '../src/seeds/trading.seed';
import { startTrading, testDatabase, uniquePrefix, type TradingHarness } from './support/harness';

const PRICE_UPDATED = `subscription($symbols: [String!]!) {
  priceUpdated(symbols: $symbols) { symbol base quote exchange lastPrice change24h volume24h updatedAt }
}`;
const T0 = Date.parse('2024-06-01T12:00:00.000Z');

/** A subscription over the real graphql-ws client, recording what arrives. */
interface Recorded {
  results: FormattedExecutionResult<Record<string, any>, unknown>[];
  error: unknown;
  /** Resolves once `check` holds (re-checked on every message). */
  until(check: (recorded: Recorded) => boolean): Promise<void>;
  stop(): void;
}

function record(client: Client, symbols: string[]): Recorded {
  const changes = new EventEmitter();
  const recorded: Recorded = {
    results: [],
    error: undefined,
    until(check) {
      return new Promise((resolve, reject) => {
        const test = () => {
          if (check(recorded)) {
            changes.off('change', test);
            resolve();
          } else if (recorded.error !== undefined) {
            changes.off('change', test);
            reject(new Error(`subscription failed: ${JSON.stringify(recorded.error)}`));
          }
        };
        changes.on('change', test);
        test();
      });
    },
    stop: () => undefined,
  };
  recorded.stop = client.subscribe<Record<string, any>>(
    { query: PRICE_UPDATED, variables: { symbols } },
    {
      next(result) {
        recorded.results.push(result);
        changes.emit('change');
      },
      error(error) {
        recorded.error = error;
        changes.emit('change');
      },
      complete() {
        changes.emit('change');
      },
    },
  );
  return recorded;
}

const prices = (recorded: Recorded) => recorded.results.map((result) => result.data!.priceUpdated as Record<string, string>);
/** True once this very tick (symbol, price and time) arrived. */
const has = (recorded: Recorded, tick: Tick) =>
  prices(recorded).some((price) => price.symbol === tick.symbol && price.lastPrice === tick.lastPrice && price.updatedAt === new Date(tick.timestamp).toISOString());

/** The errors a refused subscription answers with (graphql-ws sends them as a result with `errors`, then completes). */
function subscriptionErrors(client: Client, symbols: string[]): Promise<{ extensions?: { code?: string } }[]> {
  return new Promise((resolve, reject) => {
    client.subscribe(
      { query: PRICE_UPDATED, variables: { symbols } },
      {
        next: (result) => (result.errors ? resolve(result.errors as never) : reject(new Error(`unexpected result ${JSON.stringify(result)}`))),
        error: (error) => (Array.isArray(error) ? resolve(error) : reject(error)),
        complete: () => undefined,
      },
    );
  });
}

describe('priceUpdated subscription', () => {
  const database = testDatabase('subscriptions');
  // Both servers share the database and the channel prefix: two replicas of the subgraph.
  const prefix = uniquePrefix('subscriptions');
  let replicaA: TradingHarness;
  let replicaB: TradingHarness;
  let feed: PaperFeed;
  let time = T0;
  const clients: Client[] = [];

  const client = (harness: TradingHarness): Client => {
    const created = createClient({ url: harness.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    clients.push(created);
    return created;
  };
  const subscribed = (harness: TradingHarness, symbols: string[]) => Promise.all(symbols.map((symbol) => harness.server.pubsub.whenSubscribed(priceTopic(symbol))));
  /** One step of the market on replica A: every instrument ticks and is published. */
  const tick = (): Tick[] => feed.tick((time += 250));
  const tickOf = (ticks: Tick[], symbol: string): Tick => ticks.find((candidate) => candidate.symbol === symbol)!;

  beforeAll(async () => {
    const issuer = await TestIssuer.create();
    replicaA = await startTrading({ databaseUrl: database.url, prefix, issuer });
    replicaB = await startTrading({ databaseUrl: database.url, prefix, issuer });
    await seedTrading(replicaA.server.orm.em.fork(), DEMO_INSTRUMENTS, { now: new Date(T0), historyDays: 0 });
    const rows = await replicaA.server.orm.em.fork().find(InstrumentEntity, {}, { orderBy: { symbol: 'asc' } });
    feed = new PaperFeed({ instruments: rows.map(paperInstrumentOf), seed: 5, autoTick: false });
    await replicaA.server.startMarket(feed);
  }, 30_000);

  afterAll(async () => {
    await Promise.all(clients.map((created) => created.dispose()));
    await replicaA?.close();
    await replicaB?.close();
    await database.drop();
  });

  it('delivers the ticks of the requested symbols only', async () => {
    const ws = client(replicaA);
    const wanted = record(ws, ['ETH/USDT', 'SOL/USDT']);
    // XRP ticks after SOL in every step: once it arrived elsewhere, anything else of the step did too.
    const sentinel = record(ws, ['XRP/USDT']);
    await subscribed(replicaA, ['ETH/USDT', 'SOL/USDT', 'XRP/USDT']);

    let ticks: Tick[] = [];
    for (let step = 0; step < 3; step += 1) {
      ticks = tick();
      await wanted.until((recorded) => has(recorded, tickOf(ticks, 'ETH/USDT')) && has(recorded, tickOf(ticks, 'SOL/USDT')));
      await sentinel.until((recorded) => has(recorded, tickOf(ticks, 'XRP/USDT')));
    }

    expect(new Set(prices(wanted).map((price) => price.symbol))).toEqual(new Set(['ETH/USDT', 'SOL/USDT']));
    expect(prices(sentinel).every((price) => price.symbol === 'XRP/USDT')).toBe(true);
    const last = prices(wanted).filter((price) => price.symbol === 'ETH/USDT').pop()!;
    const eth = tickOf(ticks, 'ETH/USDT');
    expect(last).toEqual({
      symbol: 'ETH/USDT',
      base: 'ETH',
      quote: 'USDT',
      exchange: 'paper',
      lastPrice: eth.lastPrice,
      change24h: eth.change24h,
      volume24h: eth.volume24h,
      updatedAt: new Date(time).toISOString(),
    });
    wanted.stop();
    sentinel.stop();
  });

  it('reaches subscribers of another replica: a tick published by A arrives on B', async () => {
    const onB = record(client(replicaB), ['BTC/USDT']);
    await subscribed(replicaB, ['BTC/USDT']);
    const btc = tickOf(tick(), 'BTC/USDT');
    await onB.until((recorded) => has(recorded, btc));
    expect(prices(onB).pop()).toMatchObject({ symbol: 'BTC/USDT', lastPrice: btc.lastPrice, updatedAt: new Date(btc.timestamp).toISOString() });
    onB.stop();
  });

  it('refuses anything but 1 to 20 known, well-formed symbols with BAD_USER_INPUT', async () => {
    const ws = client(replicaB);
    const codes = await Promise.all(
      [[], Array.from({ length: 21 }, (_, i) => `T${i}/USDT`), ['DOGE/USDT'], ['BTC/USDT', 'btc-usdt']].map(async (symbols) => {
        const errors = await subscriptionErrors(ws, symbols);
        return errors[0]?.extensions?.code;
      }),
    );
    expect(codes).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT']);
  });

  it('conflates for a slow consumer: it gets each symbol\'s latest price, not a backlog', async () => {
    // The same execution graphql-ws runs, with a consumer that stops reading for a while.
    const context: RequestContext = {
      requestId: 'slow-consumer',
      viewer: null,
      em: replicaB.server.orm.em.fork(),
      log: createLogger('slow-consumer', 'silent'),
      loaders: new LoaderCache(),
    };
    const stream = (await subscribe({
      schema: replicaB.server.schema,
      document: parse(PRICE_UPDATED),
      variableValues: { symbols: ['BNB/USDT', 'ADA/USDT'] },
      contextValue: context,
    })) as AsyncGenerator<ExecutionResult<Record<string, any>>>;
    expect(Symbol.asyncIterator in stream).toBe(true);
    await subscribed(replicaB, ['ADA/USDT', 'BNB/USDT']);

    const market = replicaB.server.market;
    let conflated = 0;
    const onConflated = (message: { symbol: string }) => {
      if (message.symbol === 'ADA/USDT' || message.symbol === 'BNB/USDT') conflated += 1;
    };
    market.streams.on('conflated', onConflated);
    let received = 0;
    const allReceived = new Promise<void>((resolve) => {
      // Only this test subscribes to ADA and BNB on replica B.
      const onReceived = (message: { symbol: string }) => {
        if (message.symbol !== 'ADA/USDT' && message.symbol !== 'BNB/USDT') return;
        received += 1;
        if (received === 10) {
          market.streams.off('received', onReceived);
          resolve();
        }
      };
      market.streams.on('received', onReceived);
    });
    let ticks: Tick[] = [];
    for (let step = 0; step < 5; step += 1) ticks = tick();
    await allReceived;

    // Five prices of each symbol were published while nobody read: one of each is left, the latest,
    // in the order the symbols first arrived (ADA ticks before BNB).
    const first = await stream.next();
    const second = await stream.next();
    expect([first.value.data.priceUpdated, second.value.data.priceUpdated]).toEqual([
      expect.objectContaining({ symbol: 'ADA/USDT', lastPrice: tickOf(ticks, 'ADA/USDT').lastPrice, updatedAt: new Date(time).toISOString() }),
      expect.objectContaining({ symbol: 'BNB/USDT', lastPrice: tickOf(ticks, 'BNB/USDT').lastPrice, updatedAt: new Date(time).toISOString() }),
    ]);
    market.streams.off('conflated', onConflated);
    expect(conflated).toBe(8);

    // Caught up: the next price is the next tick's, nothing older.
    const next = stream.next();
    const ada = tickOf(tick(), 'ADA/USDT');
    expect((await next).value.data.priceUpdated).toMatchObject({ symbol: 'ADA/USDT', lastPrice: ada.lastPrice, updatedAt: new Date(ada.timestamp).toISOString() });
    await stream.return(undefined);
  });
});
