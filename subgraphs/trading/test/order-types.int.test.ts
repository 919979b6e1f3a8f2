import { randomUUID } from 'node:crypto';
import { queueJobsOnMetrics } from '../../kit/src/testing';
import { errorCode } from './support/harness';
import { CANCEL, cid, eventually, PLACE, startOrdersHarness, type Order, type OrdersHarness } from './support/orders-harness';

/**
 * Every order type on the paper exchange, driven by scripted price paths through the real engine
 * (trigger book, fills, reservations). BTC/USDT starts each test at 100; 0.1 % fee, 10 bps slippage:
 * a taker BUY pays last × 1.001 rounded up to the cent, a taker SELL gets last × 0.999 rounded down.
 */
describe('order types on the paper exchange', () => {
  let h: OrdersHarness;
  let token: string;

  const account = (balances: { asset: string; amount: string }[] = [{ asset: 'USDT', amount: '10000' }, { asset: 'BTC', amount: '5' }]) =>
    h.linkPaper(token, { feeRate: '0.001', slippageBps: '10', startingBalances: balances });
  const place = (accountId: string, input: Record<string, unknown>) => h.place(token, { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', quantity: '1', ...input });
  const statusOf = async (id: string) => (await h.order(token, id)).status as string;

  beforeAll(async () => {
    h = await startOrdersHarness('order_types');
    token = await h.token(randomUUID());
  });

  afterAll(async () => {
    await h?.close();
  });

  beforeEach(async () => {
    await h.prices('BTC/USDT', '100');
  });

  describe('STOP_MARKET', () => {
    it('sells at market once the price falls to the stop, with the base reserved until then', async () => {
      const accountId = await account();
      const order = await place(accountId, { side: 'SELL', type: 'STOP_MARKET', stopPrice: '95' });
      expect(order).toMatchObject({ status: 'OPEN', execution: 'EMULATED', triggeredAt: null });
      expect((await h.balances(token, accountId)).BTC).toEqual({ free: '4', locked: '1' });

      await h.prices('BTC/USDT', '97', '95.01', '96');
      expect(await statusOf(order.id)).toBe('OPEN');
      await h.prices('BTC/USDT', '94.9');
      const filled = await h.order(token, order.id);
      // 94.9 × 0.999 = 94.8051, rounded down.
      expect(filled).toMatchObject({ status: 'FILLED', averagePrice: '94.8', filledQuantity: '1' });
      expect(filled.triggeredAt).not.toBeNull();
      expect(await h.balances(token, accountId)).toEqual({ BTC: { free: '4', locked: '0' }, USDT: { free: '10094.7052', locked: '0' } });
    });

    it('buys at market once the price rises to the stop; a gap past the reservation is paid from free funds', async () => {
      const accountId = await account();
      const order = await place(accountId, { side: 'BUY', type: 'STOP_MARKET', stopPrice: '105' });
      // 105 × 1.001 (slippage) × 1.001 (fee) reserved.
      expect((await h.balances(token, accountId)).USDT).toEqual({ free: '9894.789895', locked: '105.210105' });
      await h.prices('BTC/USDT', '104.99', '106');
      // Fired by 106 (not the stop): 106 × 1.001 = 106.106 → 106.11, cost 106.11 + 0.10611.
      expect(await h.order(token, order.id)).toMatchObject({ status: 'FILLED', averagePrice: '106.11' });
      expect(await h.balances(token, accountId)).toEqual({ BTC: { free: '6', locked: '0' }, USDT: { free: '9893.78389', locked: '0' } });
    });

    it('refuses a stop the price has already reached', async () => {
      const accountId = await account();
      const above = await h.request(PLACE, { input: { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'SELL', type: 'STOP_MARKET', quantity: '1', stopPrice: '101' } }, token);
      expect(errorCode(above)).toBe('BAD_USER_INPUT');
      expect(above.errors![0]!.message).toContain('already reached');
      const missing = await h.request(PLACE, { input: { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'SELL', type: 'STOP_MARKET', quantity: '1' } }, token);
      expect(errorCode(missing)).toBe('BAD_USER_INPUT');
      expect(missing.errors![0]!.message).toBe('STOP_MARKET orders need stopPrice');
    });
  });

  describe('STOP_LIMIT', () => {
    it('becomes a limit order at the stop and fills at once when the limit is marketable', async () => {
      const accountId = await account();
      const order = await place(accountId, { side: 'BUY', type: 'STOP_LIMIT', stopPrice: '105', price: '106' });
      expect((await h.balances(token, accountId)).USDT.locked).toBe('106.106');
      await h.prices('BTC/USDT', '105.5');
      // 105.5 × 1.001 = 105.6055 → 105.61, under the limit.
      expect(await h.order(token, order.id)).toMatchObject({ status: 'FILLED', averagePrice: '105.61' });
    });

    it('rests at its limit when the price gapped past it, and fills there as a maker', async () => {
      const accountId = await account();
      const order = await place(accountId, { side: 'SELL', type: 'STOP_LIMIT', stopPrice: '95', price: '94' });
      await h.prices('BTC/USDT', '93');
      const triggered = await h.order(token, order.id);
      expect(triggered).toMatchObject({ status: 'OPEN', reason: 'Triggered at 93: working as a limit order at 94' });
      expect(triggered.triggeredAt).not.toBeNull();
      await h.prices('BTC/USDT', '93.5', '93.99');
      expect(await statusOf(order.id)).toBe('OPEN');
      await h.prices('BTC/USDT', '94.2');
      const filled = await h.order(token, order.id);
      expect(filled).toMatchObject({ status: 'FILLED', averagePrice: '94' });
      expect(filled.fills[0]).toMatchObject({ liquidity: 'MAKER', price: '94' });
    });
  });

  describe('TAKE_PROFIT', () => {
    it('sells at market once the price rises to the trigger', async () => {
      const accountId = await account();
      const order = await place(accountId, { side: 'SELL', type: 'TAKE_PROFIT', stopPrice: '110' });
      await h.prices('BTC/USDT', '108', '109.99');
      expect(await statusOf(order.id)).toBe('OPEN');
      await h.prices('BTC/USDT', '110');
      expect(await h.order(token, order.id)).toMatchObject({ status: 'FILLED', averagePrice: '109.89' });
    });

    it('buys with a limit once the price falls to the trigger', async () => {
      const accountId = await account();
      const order = await place(accountId, { side: 'BUY', type: 'TAKE_PROFIT', stopPrice: '90', price: '90.5' });
      await h.prices('BTC/USDT', '91', '90');
      expect(await h.order(token, order.id)).toMatchObject({ status: 'FILLED', averagePrice: '90.09' });
    });
  });

  describe('TRAILING_STOP', () => {
    it('follows the highest price by a percentage and sells when the price falls back to the stop', async () => {
      const accountId = await account();
      const order = await place(accountId, { side: 'SELL', type: 'TRAILING_STOP', trailingPercent: '5' });
      // Stop 95 at 100; 98.8 at 104; 104.5 at 110 (and it never loosens).
      await h.prices('BTC/USDT', '104', '110', '106', '104.51');
      expect(await statusOf(order.id)).toBe('OPEN');
      await h.prices('BTC/USDT', '104.4');
      const filled = await h.order(token, order.id);
      expect(filled).toMatchObject({ status: 'FILLED', currentStopPrice: '104.5', averagePrice: '104.29' });
    });

    it('follows the lowest price by an amount and buys when the price rises back to the stop', async () => {
      const accountId = await account();
      const order = await place(accountId, { side: 'BUY', type: 'TRAILING_STOP', trailingAmount: '3' });
      // Stop 103 at 100; 100 at 97; 98 at 95.
      await h.prices('BTC/USDT', '97', '95', '97.99');
      expect(await statusOf(order.id)).toBe('OPEN');
      await h.prices('BTC/USDT', '98.5');
      expect(await h.order(token, order.id)).toMatchObject({ status: 'FILLED', currentStopPrice: '98', averagePrice: '98.6' });
    });

    it('waits for its activation price: a SELL ignores the fall it would have followed, then trails from the price that activated it', async () => {
      const accountId = await account();
      const order = await place(accountId, { side: 'SELL', type: 'TRAILING_STOP', trailingPercent: '5', activationPrice: '105' });
      expect(order).toMatchObject({ status: 'OPEN', activationPrice: '105', currentStopPrice: null });
      // Trailing from 100 it would have sold at 94.
      await h.prices('BTC/USDT', '94', '104.9');
      expect(await statusOf(order.id)).toBe('OPEN');
      // 106 starts it (stop 100.7), 108 raises the stop to 102.6.
      await h.prices('BTC/USDT', '106', '108', '102.61');
      expect(await statusOf(order.id)).toBe('OPEN');
      await h.prices('BTC/USDT', '102.5');
      // 102.5 × 0.999 = 102.3975, rounded down.
      expect(await h.order(token, order.id)).toMatchObject({ status: 'FILLED', currentStopPrice: '102.6', averagePrice: '102.39' });
    });

    it('takes an activation price only on trailing stops, with the instrument\'s price decimals', async () => {
      const accountId = await account();
      const input = { accountId, symbol: 'BTC/USDT', quantity: '1' };
      const onStop = await h.request(PLACE, { input: { ...input, clientOrderId: cid(), side: 'SELL', type: 'STOP_MARKET', stopPrice: '95', activationPrice: '96' } }, token);
      expect(errorCode(onStop)).toBe('BAD_USER_INPUT');
      expect(onStop.errors![0]!.message).toBe('activationPrice does not apply to STOP_MARKET orders');
      const tooFine = await h.request(PLACE, { input: { ...input, clientOrderId: cid(), side: 'SELL', type: 'TRAILING_STOP', trailingPercent: '1', activationPrice: '105.123' } }, token);
      expect(errorCode(tooFine)).toBe('BAD_USER_INPUT');
      expect(tooFine.errors![0]!.message).toContain('activationPrice has more than');
      const garbage = await h.request(PLACE, { input: { ...input, clientOrderId: cid(), side: 'SELL', type: 'TRAILING_STOP', trailingPercent: '1', activationPrice: '1e5' } }, token);
      expect(errorCode(garbage)).toBe('BAD_USER_INPUT');
      expect((await h.balances(token, accountId)).BTC).toEqual({ free: '5', locked: '0' });
    });

    it('needs exactly one of trailingPercent and trailingAmount', async () => {
      const accountId = await account();
      const both = await h.request(PLACE, { input: { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'SELL', type: 'TRAILING_STOP', quantity: '1', trailingPercent: '1', trailingAmount: '1' } }, token);
      expect(errorCode(both)).toBe('BAD_USER_INPUT');
      const none = await h.request(PLACE, { input: { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'SELL', type: 'TRAILING_STOP', quantity: '1' } }, token);
      expect(errorCode(none)).toBe('BAD_USER_INPUT');
    });
  });

  describe('ICEBERG', () => {
    it('shows one clip at a time: each price at or over its limit fills one clip, until all is filled', async () => {
      const accountId = await account();
      const order = await place(accountId, { side: 'SELL', type: 'ICEBERG', price: '102', visibleQuantity: '0.25' });
      expect((await h.balances(token, accountId)).BTC).toEqual({ free: '4', locked: '1' });
      await h.prices('BTC/USDT', '101', '102.5');
      expect(await h.order(token, order.id)).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '0.25' });
      await h.prices('BTC/USDT', '102.1', '101', '103');
      expect(await h.order(token, order.id)).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '0.75' });
      await h.prices('BTC/USDT', '104');
      const filled = await h.order(token, order.id);
      expect(filled).toMatchObject({ status: 'FILLED', filledQuantity: '1', averagePrice: '102' });
      expect(filled.fills.map((fill: Order) => [fill.quantity, fill.price, fill.liquidity])).toEqual(Array(4).fill(['0.25', '102', 'MAKER']));
      expect((await h.balances(token, accountId)).BTC).toEqual({ free: '4', locked: '0' });
    });

    it('takes a first clip at once when its limit is marketable, then rests', async () => {
      const accountId = await account();
      const order = await place(accountId, { side: 'BUY', type: 'ICEBERG', quantity: '0.3', price: '101', visibleQuantity: '0.1' });
      expect(order).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '0.1', averagePrice: '100.1' });
      await h.prices('BTC/USDT', '100.5', '100.4');
      expect(await h.order(token, order.id)).toMatchObject({ status: 'FILLED', filledQuantity: '0.3' });
    });

    it('refuses a visible quantity not below the total', async () => {
      const accountId = await account();
      const result = await h.request(PLACE, { input: { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'SELL', type: 'ICEBERG', quantity: '1', price: '110', visibleQuantity: '1' } }, token);
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
    });
  });

  describe('TWAP', () => {
    it('splits the quantity into market slices spread over the duration', async () => {
      const accountId = await account();
      const order = await place(accountId, { side: 'BUY', type: 'TWAP', quantity: '0.3', twapDurationMs: 60, twapSlices: 3 });
      expect(order).toMatchObject({ status: 'OPEN', twapSlices: 3, twapDurationMs: 60, execution: 'EMULATED' });
      const filled = await eventually(() => h.order(token, order.id), (current) => current.status === 'FILLED', 'TWAP filled');
      expect(filled.fills.map((fill: Order) => fill.quantity)).toEqual(['0.1', '0.1', '0.1']);
      expect(filled.fills.every((fill: Order) => fill.liquidity === 'TAKER' && fill.price === '100.1')).toBe(true);
      expect((await h.balances(token, accountId)).USDT.locked).toBe('0');
    });

    it('stops slicing once cancelled and gives back what it still reserved', async () => {
      const accountId = await account();
      const order = await place(accountId, { side: 'SELL', type: 'TWAP', quantity: '0.4', twapDurationMs: 40_000, twapSlices: 4 });
      // The first slice runs at once, the next 10 s later.
      await eventually(() => h.order(token, order.id), (current) => current.filledQuantity === '0.1', 'first slice');
      const cancelled = await h.request(CANCEL, { id: order.id }, token);
      expect(cancelled.data!.cancelTradeOrder).toMatchObject({ status: 'CANCELLED', filledQuantity: '0.1' });
      expect((await h.balances(token, accountId)).BTC).toEqual({ free: '4.9', locked: '0' });
      // The later slices still run, find the order cancelled and do nothing.
      const [later] = await h.server.twapQueue.queue.getDelayed();
      // The slices waiting their turn are on /metrics.
      expect(await queueJobsOnMetrics(h.server.metrics.registry, 'trading-twap')).toMatchObject({ delayed: 3, failed: 0 });
      await later!.changeDelay(0);
      await eventually(() => h.server.twapQueue.queue.getJobCounts('delayed', 'waiting', 'active'), (counts) => counts.waiting + counts.active === 0 && counts.delayed === 2, 'slice ran');
      expect(await h.order(token, order.id)).toMatchObject({ status: 'CANCELLED', filledQuantity: '0.1' });
      await Promise.all((await h.server.twapQueue.queue.getDelayed()).map((job) => job.remove()));
    });

    it('refuses slices closer than the minimum interval', async () => {
      const accountId = await account();
      const result = await h.request(PLACE, { input: { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'TWAP', quantity: '1', twapDurationMs: 10, twapSlices: 5 } }, token);
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
    });
  });

  describe('attached take-profit and stop-loss (OCO)', () => {
    it('places both legs once the entry fills; the stop-loss filling cancels the take-profit', async () => {
      const accountId = await account([{ asset: 'USDT', amount: '1000' }]);
      const entry = await place(accountId, { side: 'BUY', type: 'MARKET', takeProfitPrice: '110', stopLossPrice: '95' });
      expect(entry).toMatchObject({ status: 'FILLED', takeProfitPrice: '110', stopLossPrice: '95' });
      const { exitOrders } = await h.order(token, entry.id);
      expect(exitOrders.map((leg: Order) => [leg.ocoRole, leg.type, leg.side, leg.status, leg.stopPrice, leg.quantity, leg.parentOrderId])).toEqual([
        ['TAKE_PROFIT', 'TAKE_PROFIT', 'SELL', 'OPEN', '110', '1', entry.id],
        ['STOP_LOSS', 'STOP_MARKET', 'SELL', 'OPEN', '95', '1', entry.id],
      ]);
      // One reservation covers the pair.
      expect((await h.balances(token, accountId)).BTC).toEqual({ free: '0', locked: '1' });

      await h.prices('BTC/USDT', '108', '94');
      const [takeProfit, stopLoss] = (await h.order(token, entry.id)).exitOrders as Order[];
      expect(stopLoss).toMatchObject({ status: 'FILLED', averagePrice: '93.9' });
      expect(takeProfit).toMatchObject({ status: 'CANCELLED', reason: 'OCO: the STOP_LOSS leg triggered' });
      expect((await h.balances(token, accountId)).BTC).toEqual({ free: '0', locked: '0' });
      // The cancelled take-profit does not fire later.
      await h.prices('BTC/USDT', '111');
      expect(await statusOf(takeProfit!.id)).toBe('CANCELLED');
    });

    it('the take-profit filling cancels the stop-loss', async () => {
      const accountId = await account([{ asset: 'USDT', amount: '1000' }]);
      const entry = await place(accountId, { side: 'BUY', type: 'LIMIT', price: '99', takeProfitPrice: '105', stopLossPrice: '97' });
      expect((await h.order(token, entry.id)).exitOrders).toEqual([]);
      await h.prices('BTC/USDT', '98.9');
      const [takeProfit, stopLoss] = (await h.order(token, entry.id)).exitOrders as Order[];
      expect([takeProfit!.status, stopLoss!.status]).toEqual(['OPEN', 'OPEN']);
      await h.prices('BTC/USDT', '105');
      expect(await statusOf(takeProfit!.id)).toBe('FILLED');
      expect((await h.order(token, stopLoss!.id)).reason).toBe('OCO: the TAKE_PROFIT leg triggered');
    });

    it('cancelling one leg cancels the pair and releases the reservation', async () => {
      const accountId = await account([{ asset: 'USDT', amount: '1000' }]);
      const entry = await place(accountId, { side: 'BUY', type: 'MARKET', quantity: '2', takeProfitPrice: '120', stopLossPrice: '90' });
      const [takeProfit, stopLoss] = (await h.order(token, entry.id)).exitOrders as Order[];
      const cancelled = await h.request(CANCEL, { id: stopLoss!.id }, token);
      expect(cancelled.data!.cancelTradeOrder.status).toBe('CANCELLED');
      expect(await statusOf(takeProfit!.id)).toBe('CANCELLED');
      expect((await h.balances(token, accountId)).BTC).toEqual({ free: '2', locked: '0' });
    });

    it('protects what an entry filled before it was cancelled: the legs cover the filled quantity', async () => {
      const accountId = await account([{ asset: 'USDT', amount: '1000' }]);
      const entry = await place(accountId, { side: 'BUY', type: 'ICEBERG', quantity: '0.3', price: '101', visibleQuantity: '0.1', takeProfitPrice: '110', stopLossPrice: '95' });
      expect(entry).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '0.1' });
      expect((await h.order(token, entry.id)).exitOrders).toEqual([]);

      const cancelled = await h.request(CANCEL, { id: entry.id }, token);
      expect(cancelled.data!.cancelTradeOrder).toMatchObject({ status: 'CANCELLED', filledQuantity: '0.1' });
      const { exitOrders } = await h.order(token, entry.id);
      expect(exitOrders.map((leg: Order) => [leg.ocoRole, leg.side, leg.status, leg.stopPrice, leg.quantity])).toEqual([
        ['TAKE_PROFIT', 'SELL', 'OPEN', '110', '0.1'],
        ['STOP_LOSS', 'SELL', 'OPEN', '95', '0.1'],
      ]);
      // The bought 0.1 is held for the pair; the entry's unspent quote is back.
      expect(await h.balances(token, accountId)).toMatchObject({ BTC: { free: '0', locked: '0.1' }, USDT: { locked: '0' } });

      await h.prices('BTC/USDT', '94');
      const [, stopLoss] = (await h.order(token, entry.id)).exitOrders as Order[];
      expect(stopLoss).toMatchObject({ status: 'FILLED', filledQuantity: '0.1' });
    });

    it('places no exits for an entry cancelled before anything filled', async () => {
      const accountId = await account([{ asset: 'USDT', amount: '1000' }]);
      const entry = await place(accountId, { side: 'BUY', type: 'LIMIT', price: '90', takeProfitPrice: '110', stopLossPrice: '85' });
      await h.request(CANCEL, { id: entry.id }, token);
      expect((await h.order(token, entry.id)).exitOrders).toEqual([]);
      expect((await h.balances(token, accountId)).USDT).toEqual({ free: '1000', locked: '0' });
    });

    it('refuses exits on the wrong side of the entry', async () => {
      const accountId = await account();
      const result = await h.request(PLACE, { input: { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'MARKET', quantity: '1', takeProfitPrice: '90' } }, token);
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
      expect(result.errors![0]!.message).toContain('takeProfitPrice must be above the entry price');
    });
  });
});
