import { randomBytes, randomUUID } from 'node:crypto';
import { createCcxtAdapter } from '../src/exchange/ccxt.adapter';
import { FakeBinance } from './support/fake-binance';
import { errorCode } from './support/harness';
import { CANCEL, cid, LINK, PLACE, startOrdersHarness, type OrdersHarness } from './support/orders-harness';

const credential = (): string => randomBytes(48).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 64).padEnd(64, 'x');

/**
 * Orders on a real exchange through the real ccxt library, against a local server speaking
 * Binance's REST API: native types go there as they are, the rest are emulated by the engine,
 * refusals answer REJECTED orders, unanswered requests are reconciled by client order id.
 */
describe('orders on a ccxt exchange', () => {
  let h: OrdersHarness;
  let fake: FakeBinance;
  let token: string;
  let accountId: string;
  const apiKey = credential();
  const secret = credential();
  /** Keys whose exchange shows no icebergs (ccxt's features say so), as many exchanges do not. */
  const noIcebergKeys = new Set<string>();

  const orderPosts = () => fake.requests.filter((request) => request.path === '/api/v3/order' && request.method === 'POST');
  const place = (input: Record<string, unknown>) => h.request(PLACE, { input: { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', ...input } }, token);
  const placed = async (input: Record<string, unknown>) => {
    const result = await place(input);
    expect(result.errors).toBeUndefined();
    return result.data!.placeTradeOrder as Record<string, any>;
  };
  /** Both markets at one price: the fake exchange's and our feed's. */
  const price = async (value: string) => {
    fake.setPrice('BTCUSDT', value);
    await h.prices('BTC/USDT', value);
  };
  /** A fresh account with 1 BTC and 1000 USDT, on an exchange without icebergs unless `icebergs`. */
  const linkFreshAccount = async ({ icebergs }: { icebergs: boolean }) => {
    const key = credential();
    const keySecret = credential();
    if (!icebergs) noIcebergKeys.add(key);
    fake.addAccount(key, keySecret, { BTC: '1', USDT: '1000' });
    const linked = await h.request(LINK, { input: { kind: 'CCXT', exchangeId: 'binance', apiKey: key, secret: keySecret } }, token);
    expect(linked.errors).toBeUndefined();
    return linked.data!.linkExchangeAccount.id as string;
  };
  /** The clips sent for an emulated iceberg: plain orders whose client order id starts with the order's id. */
  const clipsOf = (orderId: string) => orderPosts().filter((request) => request.params.get('newClientOrderId')?.startsWith(orderId.replace(/-/g, '')));
  /** Each clip sent, as [quantity, clip index from its client order id]. */
  const clipQuantitiesAndIndexes = (orderId: string) => clipsOf(orderId).map((request) => [request.params.get('quantity'), request.params.get('newClientOrderId')!.split('-')[1]]);
  const placeIceberg = async (icebergAccountId: string) => {
    const result = await h.request(PLACE, { input: { accountId: icebergAccountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'SELL', type: 'ICEBERG', quantity: '0.25', price: '150', visibleQuantity: '0.1' } }, token);
    expect(result.errors).toBeUndefined();
    return result.data!.placeTradeOrder as Record<string, any>;
  };

  beforeAll(async () => {
    fake = await FakeBinance.start();
    fake.addAccount(apiKey, secret, { BTC: '1', USDT: '10000' });
    h = await startOrdersHarness('ccxt_orders', {
      // The tests sync with the exchange themselves: a periodic sync landing mid-test would settle what they check unsettled.
      env: { EXCHANGE_TIMEOUT_MS: '1000', EXCHANGE_POLL_MS: '600000', CREDENTIALS_KEYS: `k1:${randomBytes(32).toString('base64')}` },
      adapterFactory: (options) =>
        createCcxtAdapter({
          ...options,
          apiUrls: fake.apiUrls,
          exchangeOptions: { enableRateLimit: false, ...(noIcebergKeys.has(options.credentials.apiKey) ? { features: { spot: { createOrder: { icebergAmount: false } } } } : {}) },
        }),
    });
    token = await h.token(randomUUID(), 'TRADER');
    const linked = await h.request(LINK, { input: { kind: 'CCXT', exchangeId: 'binance', apiKey, secret } }, token);
    expect(linked.errors).toBeUndefined();
    accountId = linked.data!.linkExchangeAccount.id;
  });

  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  beforeEach(async () => {
    await price('100');
  });

  it('sends a MARKET order natively and records the exchange\'s fills', async () => {
    const order = await placed({ side: 'BUY', type: 'MARKET', quantity: '0.1' });
    expect(order).toMatchObject({ status: 'FILLED', execution: 'NATIVE', filledQuantity: '0.1', averagePrice: '100' });
    // Binance charges its commission in the asset received.
    expect(order.fills).toEqual([expect.objectContaining({ price: '100', quantity: '0.1', fee: '0.0001', feeCurrency: 'BTC' })]);
    // The base-asset fee counts in the quote at the fill's price.
    expect(order.feeTotal).toBe('0.01');
    expect(fake.order(order.id)).toMatchObject({ clientOrderId: order.id, status: 'FILLED' });
  });

  it('values a fee paid in a third asset (BNB) at its last price, and keeps it on the fill as charged', async () => {
    const bnbKey = credential();
    const bnbSecret = credential();
    fake.addAccount(bnbKey, bnbSecret, { USDT: '1000', BNB: '1' }, { feeAsset: { asset: 'BNB', price: '600' } });
    const linked = await h.request(LINK, { input: { kind: 'CCXT', exchangeId: 'binance', apiKey: bnbKey, secret: bnbSecret } }, token);
    const bnbAccount = linked.data!.linkExchangeAccount.id as string;
    const buy = () => h.request(PLACE, { input: { accountId: bnbAccount, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'MARKET', quantity: '0.1' } }, token);

    // No price of BNB known yet: the fee is on the fill, not in the total.
    const unpriced = (await buy()).data!.placeTradeOrder;
    // 0.1 × 100 × 0.1 % = 0.01 USDT, charged as 0.01 / 600 = 0.00001667 BNB (rounded up).
    expect(unpriced.fills).toEqual([expect.objectContaining({ fee: '0.00001667', feeCurrency: 'BNB' })]);
    expect(unpriced.feeTotal).toBe('0');

    await h.prices('BNB/USDT', '600');
    const priced = (await buy()).data!.placeTradeOrder;
    expect(priced.feeTotal).toBe('0.010002');
    expect(fake.balance(bnbKey, 'BNB').free).toBe('0.99996666');
  });

  it('keeps a base-asset fee out of the position it was taken from, for the risk limits', async () => {
    const freshAccount = await linkFreshAccount({ icebergs: true });
    const trade = async (side: 'BUY' | 'SELL', quantity: string) => {
      const result = await h.request(PLACE, { input: { accountId: freshAccount, clientOrderId: cid(), symbol: 'BTC/USDT', side, type: 'MARKET', quantity } }, token);
      expect(result.data!.placeTradeOrder).toMatchObject({ status: 'FILLED' });
    };
    const position = () =>
      h.server.orm.em.fork().execute(`select trim_scale("quantity")::text as "quantity", trim_scale("cost")::text as "cost" from "account_position" where "account_id" = ?`, [freshAccount]);
    const dailyPnl = () =>
      h.server.orm.em.fork().execute(`select trim_scale("realized")::text as "realized", trim_scale("fees")::text as "fees" from "daily_pnl" where "account_id" = ?`, [freshAccount]);

    // Buying 0.1 at 100 with a 0.0001 BTC fee holds 0.0999 BTC, which cost the 10 USDT paid.
    await trade('BUY', '0.1');
    expect(await position()).toEqual([{ quantity: '0.0999', cost: '10' }]);
    // Selling all of it (fee 0.00999 USDT) closes the position and realises 9.99 − 0.00999 − 10.
    await trade('SELL', '0.0999');
    expect(await position()).toEqual([{ quantity: '0', cost: '0' }]);
    expect(await dailyPnl()).toEqual([{ realized: '-0.01999', fees: '0.01999' }]);
  });

  it('rests a LIMIT order on the exchange and picks up its fill on the next sync', async () => {
    const order = await placed({ side: 'BUY', type: 'LIMIT', quantity: '0.1', price: '90' });
    expect(order).toMatchObject({ status: 'OPEN', execution: 'NATIVE' });
    fake.setPrice('BTCUSDT', '89');
    await h.server.engine.syncExchangeOrders();
    expect(await h.order(token, order.id)).toMatchObject({ status: 'FILLED', averagePrice: '90', filledQuantity: '0.1' });
  });

  it('cancels a resting order on the exchange', async () => {
    const order = await placed({ side: 'SELL', type: 'LIMIT', quantity: '0.1', price: '150' });
    const cancelled = await h.request(CANCEL, { id: order.id }, token);
    expect(cancelled.data!.cancelTradeOrder).toMatchObject({ status: 'CANCELLED', reason: 'Cancelled by the user' });
    expect(fake.order(order.id)).toMatchObject({ status: 'CANCELED' });
  });

  it('sends a stop the exchange supports natively, and reads its fill once triggered there', async () => {
    const order = await placed({ side: 'SELL', type: 'STOP_MARKET', quantity: '0.1', stopPrice: '95' });
    expect(order).toMatchObject({ status: 'OPEN', execution: 'NATIVE' });
    expect(fake.order(order.id)).toMatchObject({ type: 'STOP_LOSS', status: 'NEW' });
    fake.setPrice('BTCUSDT', '94');
    await h.server.engine.syncExchangeOrders();
    expect(await h.order(token, order.id)).toMatchObject({ status: 'FILLED', averagePrice: '94' });
  });

  it('emulates a type the exchange lacks (trailing stops on Binance spot) and sends a market order when it triggers', async () => {
    const before = orderPosts().length;
    const order = await placed({ side: 'SELL', type: 'TRAILING_STOP', quantity: '0.1', trailingPercent: '5' });
    expect(order).toMatchObject({ status: 'OPEN', execution: 'EMULATED' });
    expect(orderPosts()).toHaveLength(before);
    await price('110');
    expect(orderPosts()).toHaveLength(before);
    await price('104');
    const filled = await h.order(token, order.id);
    expect(filled).toMatchObject({ status: 'FILLED', averagePrice: '104', currentStopPrice: '104.5' });
    expect(filled.triggeredAt).not.toBeNull();
    expect(orderPosts()).toHaveLength(before + 1);
    expect(orderPosts().at(-1)!.params.get('type')).toBe('MARKET');
  });

  it('shows an ICEBERG one clip at a time where the exchange has none: each filled clip is followed by the next', async () => {
    const order = await placeIceberg(await linkFreshAccount({ icebergs: false }));
    expect(order).toMatchObject({ status: 'OPEN', execution: 'EMULATED', filledQuantity: '0' });
    // One plain limit order of the visible quantity, no iceberg parameter.
    expect(clipsOf(order.id).map((request) => [request.params.get('type'), request.params.get('quantity'), request.params.get('icebergQty')])).toEqual([['LIMIT', '0.1', null]]);

    // The clip fills; the next is sent when the sync sees it, resting while the price is below the limit.
    fake.setPrice('BTCUSDT', '151');
    fake.setPrice('BTCUSDT', '149');
    await h.server.engine.syncExchangeOrders();
    expect(await h.order(token, order.id)).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '0.1' });
    expect(clipsOf(order.id).map((request) => request.params.get('quantity'))).toEqual(['0.1', '0.1']);

    // At 151 the second clip fills at its limit; the last (what remains) is marketable and fills at once, at 151.
    fake.setPrice('BTCUSDT', '151');
    await h.server.engine.syncExchangeOrders();
    const filled = await h.order(token, order.id);
    expect(filled).toMatchObject({ status: 'FILLED', filledQuantity: '0.25', averagePrice: '150.2' });
    expect(filled.fills.map((fill: { quantity: string; price: string }) => [fill.quantity, fill.price])).toEqual([
      ['0.1', '150'],
      ['0.1', '150'],
      ['0.05', '151'],
    ]);
    expect(clipQuantitiesAndIndexes(order.id)).toEqual([
      ['0.1', '0'],
      ['0.1', '1'],
      ['0.05', '2'],
    ]);
  });

  it('recovers an emulated ICEBERG clip whose placement went unanswered by the clip\'s client order id, sending it once', async () => {
    const order = await placeIceberg(await linkFreshAccount({ icebergs: false }));
    // The first clip fills; the second is carried out by the exchange but its answer is lost.
    fake.setPrice('BTCUSDT', '151');
    fake.setPrice('BTCUSDT', '149');
    fake.holdResponses(1, { path: '/api/v3/order', method: 'POST' });
    await h.server.engine.syncExchangeOrders();
    expect(clipsOf(order.id).map((request) => request.params.get('quantity'))).toEqual(['0.1', '0.1']);
    expect(await h.order(token, order.id)).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '0.1' });

    // The next sync finds the clip by its client order id, and follows it once it fills.
    fake.setPrice('BTCUSDT', '151');
    await h.server.engine.syncExchangeOrders();
    await h.server.engine.syncExchangeOrders();
    const filled = await h.order(token, order.id);
    expect(filled).toMatchObject({ status: 'FILLED', filledQuantity: '0.25' });
    // Three clips in all, each sent once, with clip indexes 0, 1, 2.
    expect(clipQuantitiesAndIndexes(order.id)).toEqual([
      ['0.1', '0'],
      ['0.1', '1'],
      ['0.05', '2'],
    ]);
  });

  it('cancels an emulated ICEBERG while a clip rests: the clip is cancelled on the exchange and no further clip is sent', async () => {
    const order = await placeIceberg(await linkFreshAccount({ icebergs: false }));
    fake.setPrice('BTCUSDT', '151');
    fake.setPrice('BTCUSDT', '149');
    await h.server.engine.syncExchangeOrders();
    const restingClipId = clipsOf(order.id).at(-1)!.params.get('newClientOrderId')!;
    expect(fake.order(restingClipId)).toMatchObject({ status: 'NEW' });

    const cancelled = await h.request(CANCEL, { id: order.id }, token);
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data!.cancelTradeOrder).toMatchObject({ status: 'CANCELLED', filledQuantity: '0.1' });
    expect(fake.order(restingClipId)).toMatchObject({ status: 'CANCELED' });

    // A price that would have filled the next clip sends nothing more.
    fake.setPrice('BTCUSDT', '151');
    await h.server.engine.syncExchangeOrders();
    expect(clipsOf(order.id)).toHaveLength(2);
    expect(await h.order(token, order.id)).toMatchObject({ status: 'CANCELLED', filledQuantity: '0.1' });
  });

  it('answers an order the exchange refuses as REJECTED with its reason, not an error', async () => {
    const order = await placed({ side: 'SELL', type: 'MARKET', quantity: '50' });
    expect(order).toMatchObject({ status: 'REJECTED', filledQuantity: '0' });
    expect(order.reason).toContain('insufficient balance');
  });

  it('sends nothing when a risk limit refuses the order', async () => {
    const before = orderPosts().length;
    const refused = await place({ side: 'BUY', type: 'MARKET', quantity: '2000' });
    expect(errorCode(refused)).toBe('RISK_LIMIT');
    expect(refused.errors![0]!.extensions).toMatchObject({ rule: 'MAX_ORDER_NOTIONAL', limit: '100000', value: '200000' });
    expect(orderPosts()).toHaveLength(before);
  });

  it('keeps an order whose placement went unanswered, and reconciles it by client order id', async () => {
    fake.holdResponses(1, { path: '/api/v3/order', method: 'POST' });
    const order = await placed({ side: 'BUY', type: 'MARKET', quantity: '0.05' });
    expect(order).toMatchObject({ status: 'NEW', reason: 'UNKNOWN: the exchange did not answer; reconciling by client order id' });
    // The exchange did place it: the sync finds it by our client order id and takes its fill.
    await h.server.engine.syncExchangeOrders();
    expect(await h.order(token, order.id)).toMatchObject({ status: 'FILLED', filledQuantity: '0.05', averagePrice: '100' });
    // Exactly one order reached the exchange.
    expect(orderPosts().filter((request) => request.params.get('newClientOrderId') === order.id)).toHaveLength(1);
  });

  it('cancels an unanswered order where the exchange holds it, found by client order id', async () => {
    fake.holdResponses(1, { path: '/api/v3/order', method: 'POST' });
    const order = await placed({ side: 'BUY', type: 'LIMIT', quantity: '0.1', price: '80' });
    expect(order.status).toBe('NEW');
    const cancelled = await h.request(CANCEL, { id: order.id }, token);
    expect(cancelled.data!.cancelTradeOrder).toMatchObject({ status: 'CANCELLED' });
    expect(fake.order(order.id)).toMatchObject({ status: 'CANCELED' });
  });
});
