import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { print } from 'graphql';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import {
  AccountBalancesDocument,
  CancelTradeOrderDocument,
  ExchangeAccountsDocument,
  LinkExchangeAccountDocument,
  MyTradeOrdersDocument,
  PlaceTradeOrderDocument,
  RegisterDocument,
  TradeOrderDocument,
  TradeOrdersDocument,
  TradeOrderUpdatedDocument,
  type PlaceTradeOrderInput,
  type TradeOrderQuery,
  type TradeOrderUpdatedSubscription,
} from '../../../schema/generated/operations';
import { ScriptedFeed } from '../../../subgraphs/trading/test/support/scripted-feed';
import { eventually, startStack, type Stack } from './stack';

const SYMBOL = 'BTC/USDT';
const WAIT_MS = 30_000;

type Order = NonNullable<TradeOrderQuery['tradeOrder']>;

/**
 * Trading through the router: a paper account, every order type end to end against a price feed
 * the test scripts, idempotent placement, isolation between users, and tradeOrderUpdated over
 * graphql-ws with fields other subgraphs own (the user's email).
 */
describe('trading through the router', () => {
  let stack: Stack;
  let feed: ScriptedFeed;
  let token: string;
  let email: string;
  let accountId: string;
  const clients: Client[] = [];

  /** Ticks the scripted feed one price at a time, each once the engine has acted on the previous one. */
  async function prices(...values: string[]): Promise<void> {
    for (const value of values) {
      feed.price(SYMBOL, value);
      await stack.server('trading').engine.idle();
    }
  }

  async function place(input: Omit<PlaceTradeOrderInput, 'accountId' | 'clientOrderId' | 'symbol'> & Partial<PlaceTradeOrderInput>) {
    const result = await stack.request(PlaceTradeOrderDocument, { input: { accountId, clientOrderId: randomUUID(), symbol: SYMBOL, ...input } }, token);
    expect(result.errors).toBeUndefined();
    return result.data!.placeTradeOrder;
  }

  async function order(id: string, as = token): Promise<Order> {
    const result = await stack.request(TradeOrderDocument, { id }, as);
    expect(result.errors).toBeUndefined();
    return result.data!.tradeOrder;
  }

  async function register(): Promise<{ token: string; email: string }> {
    const address = `${randomUUID()}@example.com`;
    const registered = await stack.request(RegisterDocument, { input: { email: address, password: 'a-long-password-1', name: 'Trader' } });
    expect(registered.errors).toBeUndefined();
    return { token: registered.data!.register.accessToken, email: address };
  }

  beforeAll(async () => {
    stack = await startStack({ env: { trading: { TWAP_MIN_INTERVAL_MS: '10' } } });
    feed = new ScriptedFeed();
    await stack.server('trading').startMarket(feed);
    ({ token, email } = await register());
    // No slippage, so every fill is at a price the test chose; 0.1 % fee.
    const linked = await stack.request(
      LinkExchangeAccountDocument,
      { input: { label: 'E2E', feeRate: '0.001', slippageBps: '0', startingBalances: [{ asset: 'USDT', amount: '100000' }, { asset: 'BTC', amount: '2' }] } },
      token,
    );
    expect(linked.errors).toBeUndefined();
    accountId = linked.data!.linkExchangeAccount.id;
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await stack?.close();
  });

  beforeEach(async () => {
    await prices('60000');
  });

  it('links a paper account and shows its balances', async () => {
    const accounts = await stack.request(ExchangeAccountsDocument, {}, token);
    expect(accounts.data!.exchangeAccounts).toEqual([
      expect.objectContaining({ id: accountId, kind: 'PAPER', exchangeId: 'paper', label: 'E2E', apiKeyHint: null }),
    ]);
    const balances = await stack.request(AccountBalancesDocument, { accountId }, token);
    expect(balances.data!.balances.map((balance) => balance.asset)).toEqual(['BTC', 'USDT']);
  });

  it('MARKET: fills at once, with the fee, and the order joins the user and the instrument', async () => {
    const placed = await place({ side: 'BUY', type: 'MARKET', quantity: '0.01' });
    expect(placed).toMatchObject({ status: 'FILLED', averagePrice: '60000', feeTotal: '0.6' });
    const full = await order(placed.id);
    expect(full.user).toEqual({ id: expect.any(String), email });
    expect(full.instrument).toMatchObject({ symbol: SYMBOL });
    expect(full.account).toEqual({ id: accountId, label: 'E2E' });
    expect(full.history.map((step) => step.status)).toEqual(['NEW', 'FILLED']);
  });

  it('LIMIT: rests, then fills at its price when the feed crosses it', async () => {
    const placed = await place({ side: 'BUY', type: 'LIMIT', quantity: '0.01', price: '59000' });
    expect(placed.status).toBe('OPEN');
    await prices('59500', '58950');
    expect(await order(placed.id)).toMatchObject({ status: 'FILLED', averagePrice: '59000' });
  });

  it('STOP_MARKET: sells at market when the price falls to the stop', async () => {
    const placed = await place({ side: 'SELL', type: 'STOP_MARKET', quantity: '0.01', stopPrice: '59000' });
    await prices('59500');
    expect((await order(placed.id)).status).toBe('OPEN');
    await prices('58990');
    expect(await order(placed.id)).toMatchObject({ status: 'FILLED', averagePrice: '58990', execution: 'EMULATED' });
  });

  it('STOP_LIMIT: triggers, rests at its limit, fills there', async () => {
    const placed = await place({ side: 'BUY', type: 'STOP_LIMIT', quantity: '0.01', stopPrice: '61000', price: '61100' });
    await prices('61200');
    const triggered = await order(placed.id);
    expect(triggered).toMatchObject({ status: 'OPEN' });
    expect(triggered.triggeredAt).not.toBeNull();
    await prices('61100');
    expect(await order(placed.id)).toMatchObject({ status: 'FILLED', averagePrice: '61100' });
  });

  it('TAKE_PROFIT: sells once the price rises to the trigger', async () => {
    const placed = await place({ side: 'SELL', type: 'TAKE_PROFIT', quantity: '0.01', stopPrice: '62000' });
    await prices('61000', '62000');
    expect(await order(placed.id)).toMatchObject({ status: 'FILLED', averagePrice: '62000' });
  });

  it('TRAILING_STOP: follows the price up and sells on the pullback', async () => {
    const placed = await place({ side: 'SELL', type: 'TRAILING_STOP', quantity: '0.01', trailingPercent: '1' });
    await prices('61000', '62000', '61500');
    expect((await order(placed.id)).status).toBe('OPEN');
    await prices('61380');
    expect(await order(placed.id)).toMatchObject({ status: 'FILLED', currentStopPrice: '61380', averagePrice: '61380' });
  });

  it('TRAILING_STOP with an activation price: a BUY trails only once the price fell to it', async () => {
    const placed = await place({ side: 'BUY', type: 'TRAILING_STOP', quantity: '0.01', trailingAmount: '100', activationPrice: '59000' });
    expect(placed).toMatchObject({ status: 'OPEN', activationPrice: '59000' });
    // Trailing from 60000 it would have fired at 60100; it waits for 59000 instead.
    await prices('60500', '59100');
    expect((await order(placed.id)).status).toBe('OPEN');
    // 58900 starts it (stop 59000), 58700 lowers the stop to 58800.
    await prices('58900', '58700', '58790');
    expect((await order(placed.id)).status).toBe('OPEN');
    await prices('58800');
    expect(await order(placed.id)).toMatchObject({ status: 'FILLED', currentStopPrice: '58800', averagePrice: '58800' });
  });

  it('ICEBERG: fills one visible clip per crossing price', async () => {
    const placed = await place({ side: 'SELL', type: 'ICEBERG', quantity: '0.03', price: '60500', visibleQuantity: '0.01' });
    await prices('60600');
    expect(await order(placed.id)).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '0.01' });
    await prices('60700', '60800');
    const filled = await order(placed.id);
    expect(filled).toMatchObject({ status: 'FILLED', filledQuantity: '0.03' });
    expect(filled.fills).toHaveLength(3);
  });

  it('TWAP: slices run as delayed jobs until the whole quantity is filled', async () => {
    const placed = await place({ side: 'BUY', type: 'TWAP', quantity: '0.04', twapDurationMs: 200, twapSlices: 4 });
    const filled = await eventually(() => order(placed.id), (current) => current.status === 'FILLED', 'TWAP filled');
    expect(filled.fills.map((fill) => fill.quantity)).toEqual(['0.01', '0.01', '0.01', '0.01']);
  });

  it('attached take-profit and stop-loss: an OCO pair placed on the fill; one leg filling cancels the other', async () => {
    const placed = await place({ side: 'BUY', type: 'MARKET', quantity: '0.01', takeProfitPrice: '63000', stopLossPrice: '58000' });
    const legs = (await order(placed.id)).exitOrders;
    expect(legs.map((leg) => [leg.ocoRole, leg.status])).toEqual([
      ['TAKE_PROFIT', 'OPEN'],
      ['STOP_LOSS', 'OPEN'],
    ]);
    await prices('63000');
    const [takeProfit, stopLoss] = (await order(placed.id)).exitOrders;
    expect(takeProfit).toMatchObject({ status: 'FILLED', averagePrice: '63000' });
    expect(stopLoss).toMatchObject({ status: 'CANCELLED', reason: 'OCO: the TAKE_PROFIT leg triggered' });
  });

  it('places one order for one clientOrderId, and refuses a breach of a risk limit with RISK_LIMIT', async () => {
    const clientOrderId = randomUUID();
    const input = { accountId, clientOrderId, symbol: SYMBOL, side: 'BUY' as const, type: 'LIMIT' as const, quantity: '0.01', price: '50000' };
    const [first, second] = await Promise.all([stack.request(PlaceTradeOrderDocument, { input }, token), stack.request(PlaceTradeOrderDocument, { input }, token)]);
    expect(first.data!.placeTradeOrder.id).toBe(second.data!.placeTradeOrder.id);
    const listed = await stack.request(TradeOrdersDocument, { filter: { status: ['OPEN'], side: 'BUY', type: 'LIMIT' } }, token);
    expect(listed.data!.tradeOrders.edges.filter((edge) => edge.node.clientOrderId === clientOrderId)).toHaveLength(1);
    await stack.request(CancelTradeOrderDocument, { id: first.data!.placeTradeOrder.id }, token);

    const risky = await stack.request(PlaceTradeOrderDocument, { input: { ...input, clientOrderId: randomUUID(), quantity: '2', type: 'MARKET', price: undefined } }, token);
    expect(risky.errors![0]!.extensions).toMatchObject({ code: 'RISK_LIMIT', rule: 'MAX_ORDER_NOTIONAL' });
  });

  it('keeps orders and accounts to their owner', async () => {
    const placed = await place({ side: 'BUY', type: 'LIMIT', quantity: '0.01', price: '40000' });
    const other = await register();
    expect((await stack.request(TradeOrderDocument, { id: placed.id }, other.token)).errors![0]!.extensions!.code).toBe('NOT_FOUND');
    expect((await stack.request(CancelTradeOrderDocument, { id: placed.id }, other.token)).errors![0]!.extensions!.code).toBe('NOT_FOUND');
    expect((await stack.request(AccountBalancesDocument, { accountId }, other.token)).errors![0]!.extensions!.code).toBe('NOT_FOUND');
    expect((await stack.request(MyTradeOrdersDocument, { first: 5 }, other.token)).data!.me!.tradeOrders.edges).toEqual([]);
    const mine = await stack.request(MyTradeOrdersDocument, { first: 1 }, token);
    expect(mine.data!.me!.tradeOrders.edges[0]!.node.id).toBe(placed.id);
    await stack.request(CancelTradeOrderDocument, { id: placed.id }, token);
  });

  it('streams tradeOrderUpdated over graphql-ws through the router, with the user\'s email from the users subgraph', async () => {
    const placed = await place({ side: 'BUY', type: 'LIMIT', quantity: '0.01', price: '59000' });
    const client = createClient({ url: stack.routerUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
    clients.push(client);
    const changes = new EventEmitter();
    const results: FormattedExecutionResult<TradeOrderUpdatedSubscription, unknown>[] = [];
    const until = (check: () => boolean, what: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${what}: got ${JSON.stringify(results)}`)), WAIT_MS);
        const test = () => {
          if (!check()) return;
          clearTimeout(timer);
          changes.off('change', test);
          resolve();
        };
        changes.on('change', test);
        test();
      });
    const stop = client.subscribe<TradeOrderUpdatedSubscription>(
      { query: print(TradeOrderUpdatedDocument), variables: { orderId: placed.id } },
      {
        next: (result) => {
          results.push(result);
          changes.emit('change');
        },
        error: (error) => {
          results.push({ errors: [{ message: String(error) }] } as never);
          changes.emit('change');
        },
        complete: () => changes.emit('change'),
      },
    );
    await until(() => results.length >= 1, 'snapshot');
    expect(results[0]!.data!.tradeOrderUpdated).toEqual({ id: placed.id, status: 'OPEN', filledQuantity: '0', averagePrice: null, user: { email } });
    await prices('58900');
    await until(() => results.some((result) => result.data?.tradeOrderUpdated.status === 'FILLED'), 'FILLED');
    expect(results.at(-1)!.data!.tradeOrderUpdated).toEqual({ id: placed.id, status: 'FILLED', filledQuantity: '0.01', averagePrice: '59000', user: { email } });
    stop();

    // Someone else cannot follow it.
    const other = await register();
    const stranger = createClient({ url: stack.routerUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${other.token}` } });
    clients.push(stranger);
    const refusal = await new Promise<unknown>((resolve) => {
      stranger.subscribe(
        { query: print(TradeOrderUpdatedDocument), variables: { orderId: placed.id } },
        { next: (result) => resolve(result.errors?.[0]?.extensions?.code), error: (error) => resolve(error), complete: () => resolve('completed') },
      );
    });
    expect(refusal).toBe('NOT_FOUND');
  });
});
