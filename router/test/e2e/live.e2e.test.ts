import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import {
  AddToCartDocument,
  CheckoutDocument,
  MarkDeliveredDocument,
  OrderUpdatedDocument,
  PriceUpdatedDocument,
  RegisterDocument,
  ShipOrderDocument,
} from '../../../schema/generated/operations';
import { DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { InstrumentEntity } from '../../../subgraphs/trading/src/market/instrument.entity';
import type { Tick } from '../../../subgraphs/trading/src/market/market-feed';
import { priceTopic } from '../../../subgraphs/trading/src/market/market-recorder';
import { paperInstrumentOf } from '../../../subgraphs/trading/src/market/market-runtime';
import { PaperFeed } from '../../../subgraphs/trading/src/market/paper-feed';
import { eventually, startStack, type Stack } from './stack';

/** Bound on every wait: a missing event fails the test instead of hanging it. */
const WAIT_MS = 30_000;
const SYMBOL = 'BTC/USDT';
const CLIENTS = 20;
const wallet = DEMO_PRODUCTS.find((product) => product.sku === 'GOOD-HW-WALLET')!;
/** The order of an order's statuses along the happy path (DELIVERED lives in history only). */
const RANK = ['PENDING', 'AWAITING_PAYMENT', 'PAID', 'SHIPPED', 'FULFILLED'];

/** Resolves once `check()` holds, re-checked on every `event` of `emitter`; rejects after WAIT_MS. */
function waitFor(emitter: EventEmitter, event: string, check: () => boolean, what: () => string): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`${what()} within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const listener = () => {
      if (!check()) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve();
    };
    emitter.on(event, listener);
  });
}

/** `promise`, or a rejection naming `what` after WAIT_MS. */
function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${WAIT_MS} ms`)), WAIT_MS)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** One subscription over the real graphql-ws client, recording everything that arrives. */
interface Recorded<T> {
  results: FormattedExecutionResult<T, unknown>[];
  outcome: { completed: true } | { error: unknown } | undefined;
  /** Resolves once `check` holds for what arrived; rejects if the subscription ends first or in WAIT_MS. */
  until(check: (results: FormattedExecutionResult<T, unknown>[]) => boolean, what: string): Promise<void>;
  /** Resolves with the outcome once the subscription completed or failed. */
  ended(): Promise<{ completed: true } | { error: unknown }>;
  unsubscribe(): void;
}

function record<T, V extends Record<string, unknown>>(client: Client, document: TypedDocumentNode<T, V>, variables?: V): Recorded<T> {
  const changes = new EventEmitter();
  const recorded: Recorded<T> = {
    results: [],
    outcome: undefined,
    async until(check, what) {
      await waitFor(
        changes,
        'change',
        () => check(recorded.results) || recorded.outcome !== undefined,
        () => `${what}: got ${JSON.stringify(recorded.results)}`,
      );
      if (!check(recorded.results)) throw new Error(`${what}: the subscription ended (${JSON.stringify(recorded.outcome)}) after ${JSON.stringify(recorded.results)}`);
    },
    async ended() {
      await waitFor(changes, 'change', () => recorded.outcome !== undefined, () => 'expected the subscription to end');
      return recorded.outcome!;
    },
    unsubscribe: () => undefined,
  };
  recorded.unsubscribe = client.subscribe<T>(
    { query: print(document), variables },
    {
      next(result) {
        recorded.results.push(result);
        changes.emit('change');
      },
      error(error) {
        recorded.outcome = { error };
        changes.emit('change');
      },
      complete() {
        recorded.outcome ??= { completed: true };
        changes.emit('change');
      },
    },
  );
  return recorded;
}

describe('live data through the router over graphql-ws', () => {
  let stack: Stack;
  const clients: Client[] = [];

  /** A graphql-ws client on the router, authenticated in connectionParams when a token is given. */
  const client = (token?: string): Client => {
    const created = createClient({
      url: stack.routerUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: token ? { authorization: `Bearer ${token}` } : undefined,
    });
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    stack = await startStack();
  });

  afterAll(async () => {
    await Promise.all(clients.map((created) => created.dispose()));
    await stack?.close();
  });

  describe('orderUpdated', () => {
    async function register(): Promise<{ token: string; email: string }> {
      const email = `${randomUUID()}@example.com`;
      const registered = await stack.request(RegisterDocument, { input: { email, password: 'a-long-password-1', name: 'Live' } });
      expect(registered.errors).toBeUndefined();
      return { token: registered.data!.register.accessToken, email };
    }

    async function placeOrder(token: string): Promise<string> {
      const added = await stack.request(AddToCartDocument, { productId: wallet.id, quantity: 1 }, token);
      expect(added.errors).toBeUndefined();
      const checkout = await stack.request(CheckoutDocument, { input: { idempotencyKey: randomUUID(), paymentMethod: 'dev-card' } }, token);
      expect(checkout.errors).toBeUndefined();
      return checkout.data!.checkout.id;
    }

    /** The code of the one error a refused subscription answers with, before it completes. */
    async function refusal(orderId: string, token?: string): Promise<unknown> {
      const refused = record(client(token), OrderUpdatedDocument, { id: orderId });
      expect(await refused.ended()).toEqual({ completed: true });
      expect(refused.results).toHaveLength(1);
      expect(refused.results[0]!.data ?? null).toBeNull();
      return refused.results[0]!.errors?.[0]?.extensions?.code;
    }

    it('follows a checkout to PAID with payments and users fields, then to FULFILLED; others are refused', async () => {
      const owner = await register();
      const orderId = await placeOrder(owner.token);
      const updates = record(client(owner.token), OrderUpdatedDocument, { id: orderId });
      const statuses = () => updates.results.map((result) => result.data?.orderUpdated.status);

      // The first message is the order as it is when the subscription starts (the saga runs meanwhile); the
      // dev provider then pays it: events up to PAID, each read from orders, payments and users at delivery.
      await updates.until((results) => results.some((result) => result.data?.orderUpdated.status === 'PAID'), 'PAID');
      const paid = updates.results.find((result) => result.data?.orderUpdated.status === 'PAID')!;
      expect(paid).toEqual({ data: { orderUpdated: { status: 'PAID', payment: { status: 'SUCCEEDED' }, user: { email: owner.email } } } });

      // Admin actions are published too: shipped, then delivered (FULFILLED).
      const admin = await stack.mintToken(randomUUID(), 'ADMIN');
      expect((await stack.request(ShipOrderDocument, { id: orderId, trackingNumber: 'LIVE-1' }, admin)).errors).toBeUndefined();
      await updates.until((results) => results.some((result) => result.data?.orderUpdated.status === 'SHIPPED'), 'SHIPPED');
      expect((await stack.request(MarkDeliveredDocument, { id: orderId }, admin)).errors).toBeUndefined();
      await updates.until((results) => results.some((result) => result.data?.orderUpdated.status === 'FULFILLED'), 'FULFILLED');

      expect(updates.results.every((result) => result.errors === undefined && result.data!.orderUpdated.user?.email === owner.email)).toBe(true);
      // In order, none skipped backwards: each message shows the order as committed when it was delivered.
      const ranks = statuses().map((status) => RANK.indexOf(status!));
      expect(ranks.every((rank) => rank >= 0)).toBe(true);
      expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
      expect(statuses().slice(-2)).toEqual(['SHIPPED', 'FULFILLED']);

      // Another customer and an anonymous client learn nothing but the refusal, passed through by the router.
      const intruder = await register();
      expect(await refusal(orderId, intruder.token)).toBe('FORBIDDEN');
      expect(await refusal(orderId)).toBe('UNAUTHENTICATED');
      updates.unsubscribe();
    });
  });

  describe('priceUpdated', () => {
    let feed: PaperFeed;
    let time = Date.now();

    /** Subscriptions open on the trading subgraph's graphql-ws (its `graphql_ws_subscriptions` gauge). */
    const tradingSubscriptions = async (): Promise<number> => {
      const metric = await stack.server('trading').metrics.subscriptions.get();
      return metric.values.reduce((sum, value) => sum + value.value, 0);
    };
    const lastPrices = (recorded: Recorded<{ priceUpdated: { symbol: string; lastPrice: string } }>) =>
      recorded.results.map((result) => result.data?.priceUpdated.lastPrice);

    beforeAll(async () => {
      // The stack runs no market (MARKET_FEED=off): a paper feed the test ticks, so every price is known.
      const trading = stack.server('trading');
      const rows = await trading.orm.em.fork().find(InstrumentEntity, {}, { orderBy: { symbol: 'asc' } });
      feed = new PaperFeed({ instruments: rows.map(paperInstrumentOf), seed: 11, autoTick: false });
      await trading.startMarket(feed);
    });

    it(`serves ${CLIENTS} clients of one symbol from one upstream subscription, released when they leave`, async () => {
      const trading = stack.server('trading');
      const { subscriptions } = stack.router;
      expect(await tradingSubscriptions()).toBe(0);

      // Half signed in (each a different user), half anonymous: a public feed is shared by everyone.
      const recorded = [];
      for (let index = 0; index < CLIENTS; index += 1) {
        const token = index % 2 === 0 ? await stack.mintToken(randomUUID()) : undefined;
        recorded.push(record(client(token), PriceUpdatedDocument));
      }
      await waitFor(subscriptions.events, 'started', () => subscriptions.stats().subscriptions === CLIENTS, () => `expected ${CLIENTS} client subscriptions, got ${JSON.stringify(subscriptions.stats())}`);
      // The one upstream subscription listens once trading's pub/sub has the channel.
      await bounded(trading.pubsub.whenSubscribed(priceTopic(SYMBOL)), `trading subscribed to ${SYMBOL}`);

      const sent: string[] = [];
      for (let step = 0; step < 3; step += 1) {
        const tick: Tick = feed.tick((time += 1_000)).find((candidate) => candidate.symbol === SYMBOL)!;
        sent.push(tick.lastPrice);
        // Each tick reaches every client before the next is sent, so none is conflated away.
        await Promise.all(recorded.map((one, index) => one.until((results) => results.length === sent.length, `client ${index}: tick ${step + 1}`)));
      }
      for (const one of recorded) {
        expect(one.results.every((result) => result.errors === undefined && result.data!.priceUpdated.symbol === SYMBOL)).toBe(true);
        expect(lastPrices(one)).toEqual(sent);
      }
      expect(subscriptions.stats().upstream).toEqual({ subscriptions: 1, connections: 1 });
      expect(await tradingSubscriptions()).toBe(1);

      for (const one of recorded) one.unsubscribe();
      await waitFor(subscriptions.events, 'completed', () => subscriptions.stats().subscriptions === 0, () => `expected no client subscription, got ${JSON.stringify(subscriptions.stats())}`);
      expect(subscriptions.stats().upstream).toEqual({ subscriptions: 0, connections: 0 });
      // The router completed its upstream subscription: trading sees it end.
      await eventually(tradingSubscriptions, (open) => open === 0, 'trading subscriptions', WAIT_MS);
    });
  });
});
