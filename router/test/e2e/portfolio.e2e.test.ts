import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import {
  AddProductReviewDocument,
  InstrumentPositionDocument,
  MePortfolioDocument,
  MyPortfolioDocument,
  PortfolioMarketBuyDocument,
  PortfolioPaperAccountDocument,
  PortfolioUpdatedDocument,
  RegisterDocument,
  ReviewAuthorPortfoliosDocument,
  type PortfolioUpdatedSubscription,
  type ReviewAuthorPortfoliosQuery,
} from '../../../schema/generated/operations';
import { DEMO_PRODUCTS } from '../../../scripts/demo-data';
import type { EventEnvelope } from '../../../subgraphs/kit/src/events';
import { eventQueue } from '../../../subgraphs/kit/src/events/testing';
import type { GraphQLResponse } from '../../../subgraphs/kit/src/testing';
import { Dec, money } from '../../../subgraphs/portfolio/src/shared/decimal';
import { portfolioIdOf } from '../../../subgraphs/portfolio/src/shared/ids';
import { InstrumentEntity } from '../../../subgraphs/trading/src/market/instrument.entity';
import { paperInstrumentOf } from '../../../subgraphs/trading/src/market/market-runtime';
import { PaperFeed } from '../../../subgraphs/trading/src/market/paper-feed';
import { eventually, startStack, type Stack } from './stack';

/** Bound on every wait: a missing update fails the test instead of hanging it. */
const WAIT_MS = 30_000;
const SYMBOL = 'BTC/USDT';

type Result<T> = FormattedExecutionResult<T, unknown>;

/** One subscription over the real graphql-ws client, recording what arrives. */
interface Recorded<T> {
  results: Result<T>[];
  until(check: (results: Result<T>[]) => boolean, what: string): Promise<void>;
  unsubscribe(): void;
}

function record<T>(client: Client, document: TypedDocumentNode<T, Record<string, never>>): Recorded<T> {
  const changes = new EventEmitter();
  let ended: unknown;
  const recorded: Recorded<T> = {
    results: [],
    until(check, what) {
      return new Promise((resolve, reject) => {
        const test = () => {
          if (check(recorded.results)) finish(resolve);
          else if (ended !== undefined) finish(() => reject(new Error(`${what}: the subscription ended (${JSON.stringify(ended)}) after ${JSON.stringify(recorded.results)}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`${what} within ${WAIT_MS} ms: got ${JSON.stringify(recorded.results)}`))), WAIT_MS);
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          changes.off('change', test);
          settle();
        };
        changes.on('change', test);
        test();
      });
    },
    unsubscribe: () => undefined,
  };
  recorded.unsubscribe = client.subscribe<T>(
    { query: print(document) },
    {
      next(result) {
        recorded.results.push(result);
        changes.emit('change');
      },
      error(error) {
        ended = { error };
        changes.emit('change');
      },
      complete() {
        ended ??= { completed: true };
        changes.emit('change');
      },
    },
  );
  return recorded;
}

describe('portfolio through the router', () => {
  let stack: Stack;
  let feed: PaperFeed;
  let time = Date.now();
  const clients: Client[] = [];

  const client = (token: string): Client => {
    const created = createClient({
      url: stack.routerUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    clients.push(created);
    return created;
  };

  async function register(): Promise<{ token: string; id: string; email: string }> {
    const email = `${randomUUID()}@example.com`;
    const registered = await stack.request(RegisterDocument, { input: { email, password: 'a-long-password-1', name: 'Investor' } });
    expect(registered.errors).toBeUndefined();
    return { token: registered.data!.register.accessToken, id: registered.data!.register.user.id, email };
  }

  /** Moves the paper market one second on; trading publishes every instrument's tick. Returns BTC's price. */
  const tick = (): string => feed.tick((time += 1_000)).find((candidate) => candidate.symbol === SYMBOL)!.lastPrice;

  /** What trading's outbox relay will put on `events-portfolio` once it emits fills. */
  async function injectFill(data: Record<string, unknown>): Promise<void> {
    const queue = eventQueue('portfolio', stack.eventsPrefix);
    const envelope: EventEnvelope = { id: randomUUID(), type: 'FillExecuted', version: 1, occurredAt: new Date(time).toISOString(), source: 'trading', subject: String(data.orderId), data };
    try {
      await queue.add(envelope.type, envelope, { jobId: envelope.id });
    } finally {
      await queue.close();
    }
  }

  beforeAll(async () => {
    stack = await startStack();
    // The stack runs no market (MARKET_FEED=off): a paper feed the test ticks, so every price is known.
    const trading = stack.server('trading');
    const rows = await trading.orm.em.fork().find(InstrumentEntity, {}, { orderBy: { symbol: 'asc' } });
    feed = new PaperFeed({ instruments: rows.map(paperInstrumentOf), seed: 7, autoTick: false });
    await trading.startMarket(feed);
  });

  afterAll(async () => {
    await Promise.all(clients.map((created) => created.dispose()));
    await stack?.close();
  });

  it('shows a filled buy in User.portfolio and moves unrealized PnL with price ticks over portfolioUpdated', async () => {
    const investor = await register();
    const bought = tick();
    // 0.5 BTC at the market price plus a 0.1 USDT fee.
    const cost = new Dec(bought).times('0.5').plus('0.1');
    await injectFill({
      fillId: randomUUID(),
      orderId: randomUUID(),
      accountId: randomUUID(),
      userId: investor.id,
      symbol: SYMBOL,
      base: 'BTC',
      quote: 'USDT',
      side: 'BUY',
      quantity: '0.5',
      price: bought,
      fee: '0.1',
      feeCurrency: 'USDT',
      executedAt: new Date(time).toISOString(),
    });

    const mine = await eventually(
      () => stack.request(MePortfolioDocument, {}, investor.token),
      (response) => (response.data?.me?.portfolio?.holdings.length ?? 0) > 0,
      'the holding',
    );
    expect(mine.errors).toBeUndefined();
    expect(mine.data!.me!.portfolio).toEqual({
      id: portfolioIdOf(investor.id),
      userId: investor.id,
      totalValue: money(new Dec(bought).times('0.5')),
      unrealizedPnl: '-0.1',
      holdings: [{ asset: 'BTC', quantity: '0.5', averageCost: money(cost.div('0.5')), marketPrice: bought, unrealizedPnl: '-0.1' }],
    });

    const updates = record(client(investor.token), PortfolioUpdatedDocument);
    await updates.until((results) => results.length >= 1, 'the first portfolio');
    expect(updates.results[0]!.errors).toBeUndefined();
    expect(updates.results[0]!.data!.portfolioUpdated).toMatchObject({ userId: investor.id, user: { email: investor.email }, holdings: [{ asset: 'BTC', quantity: '0.5', marketPrice: bought }] });
    // Portfolio hears BTC's ticks once Redis confirmed its subscription (it followed BTC when the fill arrived).
    await stack.server('portfolio').prices.follow([SYMBOL]);

    const btc = (result: Result<PortfolioUpdatedSubscription>) => result.data?.portfolioUpdated.holdings.find((holding) => holding.asset === 'BTC');
    const seen: string[] = [];
    for (let step = 0; step < 3; step += 1) {
      const price = tick();
      await updates.until((results) => results.some((result) => btc(result)?.marketPrice === price), `the tick to ${price}`);
      const update = updates.results.find((result) => btc(result)?.marketPrice === price)!;
      const unrealized = money(new Dec(price).times('0.5').minus(cost));
      expect(btc(update)).toEqual({ asset: 'BTC', quantity: '0.5', marketPrice: price, marketValue: money(new Dec(price).times('0.5')), unrealizedPnl: unrealized });
      expect(update.data!.portfolioUpdated.unrealizedPnl).toBe(unrealized);
      seen.push(unrealized);
    }
    expect(new Set(seen).size).toBeGreaterThan(1);
    expect(updates.results.every((result) => result.errors === undefined && result.data!.portfolioUpdated.userId === investor.id)).toBe(true);
    updates.unsubscribe();

    // Instrument.position joins trading's instrument with the signed-in user's holding.
    const position = await stack.request(InstrumentPositionDocument, { symbol: SYMBOL }, investor.token);
    expect(position.errors).toBeUndefined();
    expect(position.data!.instrument).toMatchObject({ symbol: SYMBOL, position: { asset: 'BTC', quantity: '0.5', averageCost: money(cost.div('0.5')) } });
    const anonymous = await stack.request(InstrumentPositionDocument, { symbol: SYMBOL });
    expect(anonymous.data!.instrument!.position).toBeNull();
  });

  it('shows the holding of a market buy placed through the router, fees included', async () => {
    const trader = await register();
    const account = await stack.request(PortfolioPaperAccountDocument, {}, trader.token);
    expect(account.errors).toBeUndefined();
    // The paper exchange fills at the last price the engine saw.
    tick();
    const placed = await stack.request(
      PortfolioMarketBuyDocument,
      { input: { accountId: account.data!.linkExchangeAccount.id, clientOrderId: `buy-${randomUUID()}`, symbol: SYMBOL, side: 'BUY', type: 'MARKET', quantity: '0.01' } },
      trader.token,
    );
    expect(placed.errors).toBeUndefined();
    const order = placed.data!.placeTradeOrder;
    expect(order).toMatchObject({ status: 'FILLED', filledQuantity: '0.01' });
    // Trading's outbox relay sends its FillExecuted events to portfolio's queue.
    const cost = order.fills.reduce((total, fill) => total.plus(new Dec(fill.quantity).times(fill.price)).plus(fill.fee), new Dec(0));
    const fees = order.fills.reduce((total, fill) => total.plus(fill.fee), new Dec(0));
    expect(order.fills.every((fill) => fill.feeCurrency === 'USDT')).toBe(true);
    const portfolio = await eventually(
      () => stack.request(MyPortfolioDocument, {}, trader.token),
      (response) => response.data?.myPortfolio.holdings[0]?.quantity === '0.01',
      'the holding of the market buy',
    );
    expect(portfolio.data!.myPortfolio).toMatchObject({
      userId: trader.id,
      costBasis: money(cost),
      fees: money(fees),
      realizedPnl: '0',
      holdings: [{ asset: 'BTC', symbol: SYMBOL, quantity: '0.01', costBasis: money(cost), averageCost: money(cost.div('0.01')), fees: money(fees) }],
    });

    // The acceptance flow end to end: the subscription sees unrealized PnL move with the next ticks.
    const updates = record(client(trader.token), PortfolioUpdatedDocument);
    await updates.until((results) => results.length >= 1, 'the first portfolio');
    await stack.server('portfolio').prices.follow([SYMBOL]);
    for (let step = 0; step < 2; step += 1) {
      const price = tick();
      const unrealized = money(new Dec(price).times('0.01').minus(cost));
      await updates.until((results) => results.some((result) => result.data?.portfolioUpdated.unrealizedPnl === unrealized && result.data.portfolioUpdated.holdings[0]?.marketPrice === price), `unrealized PnL at ${price}`);
    }
    updates.unsubscribe();
  });

  it("does not show a user's portfolio to another user", async () => {
    const owner = await register();
    const intruder = await register();
    await injectFill({
      fillId: randomUUID(),
      orderId: randomUUID(),
      accountId: randomUUID(),
      userId: owner.id,
      symbol: 'ETH/USDT',
      base: 'ETH',
      quote: 'USDT',
      side: 'BUY',
      quantity: '2',
      price: '3000',
      fee: '0',
      feeCurrency: 'USDT',
      executedAt: new Date(time).toISOString(),
    });
    await eventually(
      () => stack.request(MyPortfolioDocument, {}, owner.token),
      (response) => response.data?.myPortfolio.holdings.length === 1,
      "the owner's holding",
    );

    // The owner's review makes their User reachable by anyone: its portfolio is not.
    const product = DEMO_PRODUCTS[0]!;
    expect((await stack.request(AddProductReviewDocument, { productId: product.id, rating: 5, text: 'Solid.' }, owner.token)).errors).toBeUndefined();
    const authorOf = (response: GraphQLResponse<ReviewAuthorPortfoliosQuery>) => response.data!.product!.reviews.edges.find((edge) => edge.node.author?.id === owner.id)!.node.author!;

    const seenByIntruder = await stack.request(ReviewAuthorPortfoliosDocument, { productId: product.id }, intruder.token);
    expect(authorOf(seenByIntruder).portfolio).toBeNull();
    expect(seenByIntruder.errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);
    const seenByOwner = await stack.request(ReviewAuthorPortfoliosDocument, { productId: product.id }, owner.token);
    expect(seenByOwner.errors).toBeUndefined();
    expect(authorOf(seenByOwner).portfolio).toEqual({ id: portfolioIdOf(owner.id), totalValue: '6000' });

    const theirs = await stack.request(MyPortfolioDocument, {}, intruder.token);
    expect(theirs.data!.myPortfolio).toMatchObject({ userId: intruder.id, totalValue: '0', holdings: [] });
    const updates = record(client(intruder.token), PortfolioUpdatedDocument);
    await updates.until((results) => results.length >= 1, "the intruder's own portfolio");
    expect(updates.results[0]!.data!.portfolioUpdated).toMatchObject({ userId: intruder.id, holdings: [] });
    updates.unsubscribe();
  });
});
