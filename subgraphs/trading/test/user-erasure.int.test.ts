import { randomBytes, randomUUID } from 'node:crypto';
import type { Worker } from 'bullmq';
import { eventQueue, jobSettled, QueueWatcher, testEnvelope } from '../../kit/src/events/testing';
import type { EventEnvelope } from '../../kit/src/events';
import { createCcxtAdapter } from '../src/exchange/ccxt.adapter';
import { FakeBinance } from './support/fake-binance';
import { cid, LINK, startOrdersHarness, type Order, type OrdersHarness } from './support/orders-harness';

const credential = (): string => randomBytes(48).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 64).padEnd(64, 'x');

const userDeleted = (userId: string): EventEnvelope => testEnvelope('UserDeleted', 'users', userId, { userId, deletedAt: new Date().toISOString() });

/**
 * UserDeleted from users: every live order of the user is cancelled the way cancelTradeOrder does
 * it (paper reservations released, real-exchange orders cancelled there), then their exchange
 * accounts are unlinked and the sealed API keys erased. Orders and fills stay.
 */
describe('erasing a deleted user (UserDeleted)', () => {
  let h: OrdersHarness;
  let fake: FakeBinance;
  let worker: Worker;
  let analytics: QueueWatcher;

  const db = () => h.server.orm.em.fork();
  const accountsOf = (userId: string) =>
    db().execute<{ id: string; kind: string; label: string; api_key_hint: string | null; unlinked: boolean; credentials: string | null }[]>(
      `select "id", "kind", "label", "api_key_hint", "unlinked_at" is not null as "unlinked", "credentials" from "exchange_account" where "user_id" = ? order by "kind"`,
      [userId],
    );
  const paperBalances = async (accountId: string) =>
    Object.fromEntries(
      (
        await db().execute<{ asset: string; free: string; locked: string }[]>(
          `select "asset", trim_scale("free")::text as "free", trim_scale("locked")::text as "locked" from "paper_balance" where "account_id" = ?`,
          [accountId],
        )
      ).map((row) => [row.asset, { free: row.free, locked: row.locked }]),
    );
  const ordersOf = (userId: string) =>
    db().execute<{ id: string; type: string; status: string; reason: string | null; filled_quantity: string }[]>(
      `select "id", "type", "status", "reason", trim_scale("filled_quantity")::text as "filled_quantity" from "trade_order" where "user_id" = ? order by "created_at", "id"`,
      [userId],
    );
  const fillsOf = async (userId: string) =>
    Number((await db().execute<{ count: string }[]>(`select count(*) as "count" from "fill" f join "trade_order" o on o."id" = f."order_id" where o."user_id" = ?`, [userId]))[0]!.count);
  const exchangeCancels = (apiKey: string) => fake.requests.filter((request) => request.method === 'DELETE' && request.path === '/api/v3/order' && request.apiKey === apiKey);

  /** Puts `envelope` on trading's queue and waits until the consumer settles it as `outcome`. */
  async function deliver(envelope: EventEnvelope, outcome: 'completed' | 'failed' = 'completed', jobId = envelope.id, attempts = 1) {
    const queue = eventQueue('trading', h.eventsPrefix);
    try {
      const settled = jobSettled(worker, outcome, jobId);
      await queue.add(envelope.type, envelope, { jobId, attempts, removeOnFail: false });
      return await settled;
    } finally {
      await queue.close();
    }
  }

  /** A TRADER with a linked Binance account (on the fake exchange) and the ccxt account's id. */
  async function trader(): Promise<{ userId: string; token: string; apiKey: string; ccxtAccountId: string }> {
    const userId = randomUUID();
    const token = await h.token(userId, 'TRADER');
    const apiKey = credential();
    const secret = credential();
    fake.addAccount(apiKey, secret, { BTC: '1', USDT: '10000' });
    const linked = await h.request(LINK, { input: { kind: 'CCXT', exchangeId: 'binance', apiKey, secret, label: 'Savings of Jane Doe' } }, token);
    expect(linked.errors).toBeUndefined();
    return { userId, token, apiKey, ccxtAccountId: linked.data!.linkExchangeAccount.id as string };
  }

  const paperAccount = (token: string) =>
    h.linkPaper(token, { feeRate: '0', slippageBps: '0', startingBalances: [{ asset: 'USDT', amount: '10000' }, { asset: 'BTC', amount: '1' }] });
  const restingSell = (token: string, accountId: string): Promise<Order> =>
    h.place(token, { accountId, clientOrderId: cid('ccxt'), symbol: 'BTC/USDT', side: 'SELL', type: 'LIMIT', quantity: '0.1', price: '150' });

  beforeAll(async () => {
    fake = await FakeBinance.start();
    h = await startOrdersHarness('user_erasure', {
      env: { EVENTS_ENABLED: 'true', EXCHANGE_TIMEOUT_MS: '1000', EXCHANGE_POLL_MS: '600000', CREDENTIALS_KEYS: `k1:${randomBytes(32).toString('base64')}` },
      adapterFactory: (options) => createCcxtAdapter({ ...options, apiUrls: fake.apiUrls, exchangeOptions: { enableRateLimit: false } }),
    });
    worker = h.server.eventing!.consumer!.worker as unknown as Worker;
    analytics = new QueueWatcher('analytics', h.eventsPrefix);
    await h.prices('BTC/USDT', '100');
  });

  afterAll(async () => {
    await analytics?.close();
    await h?.close();
    await fake?.close();
  });

  it('cancels every live order (paper and exchange), unlinks the accounts with their credentials erased, and leaves other users alone', async () => {
    const deleted = await trader();
    const paperId = await paperAccount(deleted.token);
    const limit = await h.place(deleted.token, { accountId: paperId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'LIMIT', quantity: '0.5', price: '90' });
    const stop = await h.place(deleted.token, { accountId: paperId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'SELL', type: 'STOP_MARKET', quantity: '0.2', stopPrice: '95' });
    const entry = await h.place(deleted.token, {
      accountId: paperId,
      clientOrderId: cid(),
      symbol: 'BTC/USDT',
      side: 'BUY',
      type: 'MARKET',
      quantity: '0.1',
      takeProfitPrice: '120',
      stopLossPrice: '80',
    });
    expect(entry.status).toBe('FILLED');
    const exits: Order[] = (await h.order(deleted.token, entry.id)).exitOrders;
    expect(exits.map((exit) => [exit.type, exit.status])).toEqual([
      ['TAKE_PROFIT', 'OPEN'],
      ['STOP_MARKET', 'OPEN'],
    ]);
    const onExchange = await restingSell(deleted.token, deleted.ccxtAccountId);
    expect(onExchange).toMatchObject({ status: 'OPEN', execution: 'NATIVE' });
    expect(fake.order(onExchange.id)).toMatchObject({ status: 'NEW' });
    expect(Object.values(await paperBalances(paperId)).some((balance) => balance.locked !== '0')).toBe(true);

    const otherUser = randomUUID();
    const otherToken = await h.token(otherUser);
    const otherAccount = await h.linkPaper(otherToken);
    const otherOrder = await h.place(otherToken, { accountId: otherAccount, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'LIMIT', quantity: '0.1', price: '95' });
    expect(otherOrder.status).toBe('OPEN');
    const stopCancelled = analytics.next((event) => event.type === 'TradeOrderUpdated' && event.subject === stop.id && event.data.status === 'CANCELLED');

    expect((await deliver(userDeleted(deleted.userId))).result).toBe('processed');

    // Every live order ended; the filled entry and its fill stay, as financial records.
    const statuses = async () => Object.fromEntries((await ordersOf(deleted.userId)).map((order) => [order.id, order.status]));
    const erased = {
      [limit.id]: 'CANCELLED',
      [stop.id]: 'CANCELLED',
      [entry.id]: 'FILLED',
      ...Object.fromEntries(exits.map((exit) => [exit.id, 'CANCELLED'])),
      [onExchange.id]: 'CANCELLED',
    };
    expect(await statuses()).toEqual(erased);
    expect(await fillsOf(deleted.userId)).toBe(1);
    // Reservations released: only the entry's trade moved the balances.
    expect(await paperBalances(paperId)).toEqual({ USDT: { free: '9990', locked: '0' }, BTC: { free: '1.1', locked: '0' } });
    // The exchange was asked to cancel, with the account's own key.
    expect(fake.order(onExchange.id)).toMatchObject({ status: 'CANCELED' });
    expect(exchangeCancels(deleted.apiKey).map((request) => request.outcome)).toEqual(['ok']);
    // The cancellations were published as usual.
    expect((await stopCancelled).data).toMatchObject({ status: 'CANCELLED', userId: deleted.userId });

    // Both accounts unlinked, the sealed API key and secret gone from the database, and the labels
    // and key hint the user gave them too.
    const accounts = await accountsOf(deleted.userId);
    expect(accounts.map((account) => account.kind)).toEqual(['ccxt', 'paper']);
    for (const account of accounts) expect(account).toMatchObject({ unlinked: true, credentials: null, api_key_hint: null });
    expect(accounts.map((account) => account.label)).toEqual(['binance', 'paper']);
    expect((await h.request(`{ exchangeAccounts { id } }`, {}, deleted.token)).data!.exchangeAccounts).toEqual([]);

    // Nothing of theirs waits on a price any more: the other user's order is still watched and fills.
    for (const order of [limit, stop, ...exits]) expect(h.server.engine.book.has(order.id)).toBe(false);
    expect(h.server.engine.book.has(otherOrder.id)).toBe(true);
    await h.prices('BTC/USDT', '94', '89', '79', '121');
    expect(await h.order(otherToken, otherOrder.id)).toMatchObject({ status: 'FILLED', averagePrice: '95' });
    expect(await statuses()).toEqual(erased);
    expect(await fillsOf(deleted.userId)).toBe(1);
    expect(await paperBalances(paperId)).toEqual({ USDT: { free: '9990', locked: '0' }, BTC: { free: '1.1', locked: '0' } });
    await h.prices('BTC/USDT', '100');
  });

  it('cancels trailing stops, TWAP and iceberg parents too, and the exits a part-filled order places as it is cancelled', async () => {
    const userId = randomUUID();
    const token = await h.token(userId);
    const accountId = await paperAccount(token);
    const trailing = await h.place(token, { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'SELL', type: 'TRAILING_STOP', quantity: '0.1', trailingPercent: '5' });
    const twap = await h.place(token, { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'TWAP', quantity: '0.2', twapDurationMs: 3_600_000, twapSlices: 2 });
    const iceberg = await h.place(token, {
      accountId,
      clientOrderId: cid(),
      symbol: 'BTC/USDT',
      side: 'BUY',
      type: 'ICEBERG',
      quantity: '0.3',
      visibleQuantity: '0.1',
      price: '99',
      takeProfitPrice: '130',
      stopLossPrice: '70',
    });
    // One clip fills: the iceberg works on, its exits wait until it is done.
    await h.prices('BTC/USDT', '98');
    expect(await h.order(token, iceberg.id)).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '0.1', exitOrders: [] });

    expect((await deliver(userDeleted(userId))).result).toBe('processed');

    for (const order of [trailing, twap]) expect(await h.order(token, order.id)).toMatchObject({ status: 'CANCELLED' });
    const ended = await h.order(token, iceberg.id);
    expect(ended).toMatchObject({ status: 'CANCELLED', filledQuantity: '0.1' });
    // Ending with a fill placed its exits for the 0.1 bought; the next round cancelled them.
    expect(ended.exitOrders.map((exit: Order) => [exit.type, exit.quantity, exit.status])).toEqual([
      ['TAKE_PROFIT', '0.1', 'CANCELLED'],
      ['STOP_MARKET', '0.1', 'CANCELLED'],
    ]);
    expect((await ordersOf(userId)).filter((order) => ['NEW', 'OPEN', 'PARTIALLY_FILLED'].includes(order.status))).toEqual([]);
    expect(Object.values(await paperBalances(accountId)).map((balance) => balance.locked)).toEqual(['0', '0']);
    await h.prices('BTC/USDT', '100');
  });

  it('applies a redelivered UserDeleted once, and a second one (or one for a user never seen) changes nothing', async () => {
    const deleted = await trader();
    const paperId = await paperAccount(deleted.token);
    const limit = await h.place(deleted.token, { accountId: paperId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'LIMIT', quantity: '0.5', price: '90' });
    const event = userDeleted(deleted.userId);
    expect((await deliver(event)).result).toBe('processed');
    const after = { orders: await ordersOf(deleted.userId), accounts: await accountsOf(deleted.userId), balances: await paperBalances(paperId) };
    expect(after.orders).toEqual([expect.objectContaining({ id: limit.id, status: 'CANCELLED' })]);

    expect((await deliver(event, 'completed', `${event.id}-again`)).result).toBe('duplicate');
    expect((await deliver(userDeleted(deleted.userId))).result).toBe('processed');
    expect((await deliver(userDeleted(randomUUID()))).result).toBe('processed');
    expect({ orders: await ordersOf(deleted.userId), accounts: await accountsOf(deleted.userId), balances: await paperBalances(paperId) }).toEqual(after);
  });

  it('fails a malformed UserDeleted at once, without retries, and erases nothing', async () => {
    const deleted = await trader();
    const event = userDeleted(deleted.userId);
    event.data = { userId: 'not-a-uuid', deletedAt: event.data.deletedAt };
    const { job, result: error } = await deliver(event, 'failed', event.id, 3);
    expect(job.attemptsMade).toBe(1);
    expect((error as Error).message).toMatch(/no valid userId/);
    expect(await accountsOf(deleted.userId)).toEqual([expect.objectContaining({ unlinked: false, credentials: expect.any(String) })]);
  });

  it('fails while the exchange refuses or does not answer, keeping the credentials for the retry, which then erases them', async () => {
    const deleted = await trader();
    const paperId = await paperAccount(deleted.token);
    const limit = await h.place(deleted.token, { accountId: paperId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'LIMIT', quantity: '0.5', price: '90' });
    const onExchange = await restingSell(deleted.token, deleted.ccxtAccountId);
    const event = userDeleted(deleted.userId);
    const stillLinked = async () => {
      expect(await accountsOf(deleted.userId)).toEqual([
        expect.objectContaining({ kind: 'ccxt', unlinked: false, credentials: expect.any(String) }),
        expect.objectContaining({ kind: 'paper', unlinked: false }),
      ]);
      expect(await h.order(deleted.token, onExchange.id)).toMatchObject({ status: 'OPEN' });
      expect(fake.order(onExchange.id)).toMatchObject({ status: 'NEW' });
    };

    // Binance under maintenance refuses the cancel: the paper order is cancelled already (it committed
    // on its own), the exchange order and the credentials stay.
    fake.fail(1, { path: '/api/v3/order' });
    expect(((await deliver(event, 'failed', `${event.id}-503`)).result as Error).message).toMatch(/^binance: /);
    await stillLinked();
    expect(await h.order(deleted.token, limit.id)).toMatchObject({ status: 'CANCELLED' });

    // The exchange does not answer at all (the adapter times out): the same.
    fake.hang();
    expect(((await deliver(event, 'failed', `${event.id}-timeout`)).result as Error).message).toMatch(/^binance: /);
    fake.resume();
    await stillLinked();

    // The exchange is back: the retry cancels what is left and erases the credentials.
    expect((await deliver(event, 'completed', `${event.id}-retry`)).result).toBe('processed');
    expect(fake.order(onExchange.id)).toMatchObject({ status: 'CANCELED' });
    expect(await h.order(deleted.token, onExchange.id)).toMatchObject({ status: 'CANCELLED' });
    expect(exchangeCancels(deleted.apiKey).map((request) => request.outcome)).toEqual(['failed', 'held', 'ok']);
    for (const account of await accountsOf(deleted.userId)) expect(account).toMatchObject({ unlinked: true, credentials: null });
  });
});
