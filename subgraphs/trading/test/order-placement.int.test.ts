import { randomUUID } from 'node:crypto';
import { errorCode } from './support/harness';
import { cid, PLACE, startOrdersHarness, type OrdersHarness } from './support/orders-harness';

const UNLINK = `mutation($id: ID!) { unlinkExchangeAccount(id: $id) { id } }`;

/**
 * A paper placement is one statement (`trade_order_place`) on an account whose terms the engine
 * keeps in memory: what the statement checks under concurrency (client order id, account still
 * linked), what it writes all or nothing (order, fill, history, events, balances, position, PnL),
 * and retries answered with the first order before any rule is checked again.
 * BTC/USDT at 100; accounts pay a 0.1 % fee and 10 bps slippage.
 */
describe('paper order placement in one statement', () => {
  let h: OrdersHarness;
  let token: string;

  const account = (input: Record<string, unknown> = {}) => h.linkPaper(token, { feeRate: '0.001', slippageBps: '10', ...input });
  const rows = async <T = Record<string, unknown>>(sql: string, params: unknown[]): Promise<T[]> => h.server.orm.em.fork().execute<T[]>(sql, params);

  beforeAll(async () => {
    h = await startOrdersHarness('order_placement');
    token = await h.token(randomUUID());
  });

  afterAll(async () => {
    await h?.close();
  });

  beforeEach(async () => {
    await h.prices('BTC/USDT', '100');
  });

  it('writes order, fill, history, both events, balances, position and the day\'s PnL together, once for racing retries', async () => {
    const accountId = await account();
    const input = { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'MARKET', quantity: '2' };
    const results = await Promise.all(Array.from({ length: 8 }, () => h.request(PLACE, { input }, token)));
    expect(results.map((result) => result.errors)).toEqual(Array(8).fill(undefined));
    const ids = new Set(results.map((result) => result.data!.placeTradeOrder.id));
    expect(ids.size).toBe(1);
    const [orderId] = [...ids];

    expect(await rows(`select count(*)::int as "n" from "fill" where "order_id" = ?`, [orderId])).toEqual([{ n: 1 }]);
    expect((await rows<{ status: string }>(`select "status" from "trade_order_history" where "order_id" = ? order by "id"`, [orderId])).map((row) => row.status)).toEqual(['NEW', 'FILLED']);
    expect(await rows(`select "type", count(*)::int as "n" from "outbox" where "subject" = ? group by "type" order by "type"`, [orderId])).toEqual([
      { type: 'FillExecuted', n: 1 },
      { type: 'TradeOrderUpdated', n: 1 },
    ]);
    // 2 × 100.1 + 0.2002 fee, charged once.
    expect(await h.balances(token, accountId)).toEqual({ BTC: { free: '2', locked: '0' }, USDT: { free: '9799.5998', locked: '0' } });
    expect(await rows(`select trim_scale("quantity")::text as "quantity", trim_scale("cost")::text as "cost" from "account_position" where "account_id" = ?`, [accountId])).toEqual([{ quantity: '2', cost: '200.4002' }]);

    // Selling half realises 99.9 − 0.0999 fee − half the cost (100.2001).
    await h.place(token, { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'SELL', type: 'MARKET', quantity: '1' });
    expect(await rows(`select trim_scale("quantity")::text as "quantity", trim_scale("cost")::text as "cost" from "account_position" where "account_id" = ?`, [accountId])).toEqual([{ quantity: '1', cost: '100.2001' }]);
    expect(await rows(`select trim_scale("realized")::text as "realized", trim_scale("fees")::text as "fees" from "daily_pnl" where "account_id" = ?`, [accountId])).toEqual([
      { realized: '-0.4', fees: '0.3001' },
    ]);
  });

  it('answers a retry with the first order even when the same order would now be refused', async () => {
    const accountId = await account({ startingBalances: [{ asset: 'USDT', amount: '100' }] });
    const input = { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'MARKET', quantity: '0.9' };
    const first = await h.place(token, input);
    expect(first.status).toBe('FILLED');
    // The funds are spent and the price moved: placed afresh it would be INSUFFICIENT_BALANCE.
    await h.prices('BTC/USDT', '120');
    const again = await h.request(PLACE, { input }, token);
    expect(again.errors).toBeUndefined();
    expect(again.data!.placeTradeOrder.id).toBe(first.id);
    expect(errorCode(await h.request(PLACE, { input: { ...input, clientOrderId: cid() } }, token))).toBe('INSUFFICIENT_BALANCE');
  });

  it('refuses orders on an account unlinked after the engine learned its terms, storing nothing', async () => {
    const accountId = await account();
    const placed = await h.place(token, { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'MARKET', quantity: '0.1' });
    expect((await h.request(UNLINK, { id: accountId }, token)).errors).toBeUndefined();
    const refused = await h.request(PLACE, { input: { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'MARKET', quantity: '0.1' } }, token);
    expect(errorCode(refused)).toBe('NOT_FOUND');
    expect(await rows(`select "id" from "trade_order" where "account_id" = ?`, [accountId])).toEqual([{ id: placed.id }]);
  });

  it('never leaves a live order on an account that an unlink racing the placements removed', async () => {
    const accountId = await account();
    const placements = Array.from({ length: 10 }, () =>
      h.request(PLACE, { input: { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'LIMIT', quantity: '0.1', price: '90' } }, token),
    );
    const [unlinked, ...placed] = await Promise.all([h.request(UNLINK, { id: accountId }, token), ...placements]);
    expect(placed.every((result) => !result.errors || errorCode(result) === 'NOT_FOUND')).toBe(true);
    const live = await rows<{ n: number }>(`select count(*)::int as "n" from "trade_order" where "account_id" = ? and "status" = 'OPEN'`, [accountId]);
    if (unlinked.errors) {
      // The unlink saw live orders: it refused, and every placement it did not beat went through.
      expect(errorCode(unlinked)).toBe('CONFLICT');
      expect(live[0]!.n).toBe(placed.filter((result) => !result.errors).length);
    } else {
      expect(live[0]!.n).toBe(0);
      expect(placed.filter((result) => !result.errors)).toHaveLength(0);
    }
  });
});
