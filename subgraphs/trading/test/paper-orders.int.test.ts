import { randomUUID } from 'node:crypto';
import { Decimal } from 'decimal.js';
import { errorCode } from './support/harness';
import { BALANCES, CANCEL, cid, PLACE, startOrdersHarness, type OrdersHarness } from './support/orders-harness';

/**
 * The paper exchange through the API: MARKET and LIMIT fills with fee and slippage, reservations,
 * cancellation, insufficient funds, idempotent client order ids and balances under concurrency.
 * BTC/USDT starts at 100; accounts pay a 0.1 % fee and 10 bps slippage unless a test says otherwise.
 */
describe('paper exchange orders', () => {
  let h: OrdersHarness;
  let token: string;

  const account = (input: Record<string, unknown> = {}) => h.linkPaper(token, { feeRate: '0.001', slippageBps: '10', ...input });

  beforeAll(async () => {
    h = await startOrdersHarness('paper_orders');
    token = await h.token(randomUUID());
  });

  afterAll(async () => {
    await h?.close();
  });

  beforeEach(async () => {
    // Every test starts from the same price.
    await h.prices('BTC/USDT', '100');
  });

  it('fills a MARKET buy at the last price plus slippage, charging the fee in the quote asset', async () => {
    const accountId = await account();
    const order = await h.place(token, { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'MARKET', quantity: '2' });
    expect(order).toMatchObject({ status: 'FILLED', filledQuantity: '2', remainingQuantity: '0', averagePrice: '100.1', feeTotal: '0.2002', execution: 'NATIVE' });
    expect(order.fills).toEqual([expect.objectContaining({ price: '100.1', quantity: '2', fee: '0.2002', feeCurrency: 'USDT', liquidity: 'TAKER' })]);
    expect(await h.balances(token, accountId)).toEqual({ BTC: { free: '2', locked: '0' }, USDT: { free: '9799.5998', locked: '0' } });
  });

  it('fills a MARKET sell at the last price minus slippage', async () => {
    const accountId = await account({ startingBalances: [{ asset: 'BTC', amount: '1' }] });
    const order = await h.place(token, { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'SELL', type: 'MARKET', quantity: '0.5' });
    // 0.5 × 99.9 = 49.95, fee 0.04995.
    expect(order).toMatchObject({ status: 'FILLED', averagePrice: '99.9', feeTotal: '0.04995' });
    expect(await h.balances(token, accountId)).toEqual({ BTC: { free: '0.5', locked: '0' }, USDT: { free: '49.90005', locked: '0' } });
  });

  it('rests a LIMIT buy with its funds reserved and fills it at its own price when the feed crosses it', async () => {
    const accountId = await account();
    const order = await h.place(token, { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'LIMIT', quantity: '1', price: '95' });
    expect(order).toMatchObject({ status: 'OPEN', filledQuantity: '0', price: '95', execution: 'NATIVE' });
    // 95 × 1.001 reserved.
    expect(await h.balances(token, accountId)).toEqual({ USDT: { free: '9904.905', locked: '95.095' } });

    await h.prices('BTC/USDT', '96', '95.01');
    expect((await h.order(token, order.id)).status).toBe('OPEN');

    await h.prices('BTC/USDT', '94.5');
    const filled = await h.order(token, order.id);
    expect(filled).toMatchObject({ status: 'FILLED', averagePrice: '95', feeTotal: '0.095' });
    expect(filled.fills).toEqual([expect.objectContaining({ price: '95', quantity: '1', liquidity: 'MAKER' })]);
    expect(await h.balances(token, accountId)).toEqual({ BTC: { free: '1', locked: '0' }, USDT: { free: '9904.905', locked: '0' } });
    expect(filled.history.map((step: { status: string }) => step.status)).toEqual(['NEW', 'OPEN', 'FILLED']);
  });

  it('fills a marketable LIMIT at once, never beyond its limit', async () => {
    const accountId = await account();
    const order = await h.place(token, { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'LIMIT', quantity: '1', price: '100.05' });
    // The market price with slippage (100.1) is capped at the limit.
    expect(order).toMatchObject({ status: 'FILLED', averagePrice: '100.05' });
    expect(order.fills[0]).toMatchObject({ liquidity: 'TAKER' });
    expect((await h.balances(token, accountId)).USDT).toEqual({ free: '9899.84995', locked: '0' });
  });

  it('rests a LIMIT sell on the base asset and releases it on cancel', async () => {
    const accountId = await account({ startingBalances: [{ asset: 'BTC', amount: '2' }] });
    const order = await h.place(token, { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'SELL', type: 'LIMIT', quantity: '1.5', price: '120' });
    expect(await h.balances(token, accountId)).toEqual({ BTC: { free: '0.5', locked: '1.5' } });
    const cancelled = await h.request(CANCEL, { id: order.id }, token);
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data!.cancelTradeOrder).toMatchObject({ status: 'CANCELLED', reason: 'Cancelled by the user' });
    expect(await h.balances(token, accountId)).toEqual({ BTC: { free: '2', locked: '0' } });
    // Once cancelled it neither fills nor cancels again.
    await h.prices('BTC/USDT', '125');
    expect((await h.order(token, order.id)).status).toBe('CANCELLED');
    expect(errorCode(await h.request(CANCEL, { id: order.id }, token))).toBe('CONFLICT');
  });

  it('refuses an order the account cannot fund with INSUFFICIENT_BALANCE, storing nothing', async () => {
    const accountId = await account({ startingBalances: [{ asset: 'USDT', amount: '50' }] });
    const clientOrderId = cid();
    const result = await h.request(PLACE, { input: { accountId, clientOrderId, symbol: 'BTC/USDT', side: 'BUY', type: 'MARKET', quantity: '1' } }, token);
    expect(errorCode(result)).toBe('INSUFFICIENT_BALANCE');
    expect(result.errors![0]!.message).toContain('50 USDT');
    const sell = await h.request(PLACE, { input: { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'SELL', type: 'LIMIT', quantity: '1', price: '150' } }, token);
    expect(errorCode(sell)).toBe('INSUFFICIENT_BALANCE');
    expect(await h.balances(token, accountId)).toEqual({ USDT: { free: '50', locked: '0' } });
    const [row] = await h.server.orm.em.fork().execute(`select count(*) as "count" from "trade_order" where "account_id" = ?`, [accountId]);
    expect(Number(row.count)).toBe(0);
    // The same client order id works once the account can pay.
    const cheaper = await h.place(token, { accountId, clientOrderId, symbol: 'BTC/USDT', side: 'BUY', type: 'MARKET', quantity: '0.1' });
    expect(cheaper.status).toBe('FILLED');
  });

  it('places one order for the same clientOrderId, also when two requests race', async () => {
    const accountId = await account();
    const input = { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'LIMIT', quantity: '1', price: '90' };
    const first = await h.place(token, input);
    const again = await h.place(token, input);
    expect(again.id).toBe(first.id);

    const racing = { ...input, clientOrderId: cid() };
    const results = await Promise.all(Array.from({ length: 5 }, () => h.request(PLACE, { input: racing }, token)));
    expect(results.map((result) => result.errors)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(new Set(results.map((result) => result.data!.placeTradeOrder.id)).size).toBe(1);
    // Two orders of 90 × 1.001 each are reserved, not six.
    expect((await h.balances(token, accountId)).USDT).toEqual({ free: '9819.82', locked: '180.18' });

    const different = await h.request(PLACE, { input: { ...input, quantity: '2' } }, token);
    expect(errorCode(different)).toBe('CONFLICT');
  });

  it('never lets a balance go negative under concurrent orders', async () => {
    const accountId = await account({ startingBalances: [{ asset: 'USDT', amount: '1000' }] });
    // Each order reserves 99 × 1.001 = 99.099: 10 of 20 fit.
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        h.request(PLACE, { input: { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'LIMIT', quantity: '1', price: '99' } }, token),
      ),
    );
    const placed = results.filter((result) => !result.errors);
    const refused = results.filter((result) => result.errors);
    expect(placed).toHaveLength(10);
    expect(refused.map(errorCode)).toEqual(Array(10).fill('INSUFFICIENT_BALANCE'));
    expect((await h.balances(token, accountId)).USDT).toEqual({ free: '9.01', locked: '990.99' });

    // Buys of 1 and sells of 2 of one account at once: together they sell more than the account can
    // ever hold (1 + 8 bought < 16), so some are refused, and every balance stays at or above zero.
    const sells = await account({ startingBalances: [{ asset: 'USDT', amount: '250' }, { asset: 'BTC', amount: '1' }] });
    const mixed = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        h.request(PLACE, {
          input: { accountId: sells, clientOrderId: cid(), symbol: 'BTC/USDT', side: i % 2 === 0 ? 'BUY' : 'SELL', type: 'MARKET', quantity: i % 2 === 0 ? '1' : '2' },
        }, token),
      ),
    );
    expect(mixed.every((result) => !result.errors || errorCode(result) === 'INSUFFICIENT_BALANCE')).toBe(true);
    expect(mixed.some((result) => errorCode(result) === 'INSUFFICIENT_BALANCE')).toBe(true);
    const rows = (await h.request(BALANCES, { accountId: sells }, token)).data!.balances as { free: string; locked: string }[];
    for (const row of rows) {
      expect(new Decimal(row.free).isNegative()).toBe(false);
      expect(new Decimal(row.locked).isNegative()).toBe(false);
    }
  });
});
