import { randomUUID } from 'node:crypto';
import { errorCode } from './support/harness';
import { cid, PLACE, startOrdersHarness, type OrdersHarness } from './support/orders-harness';

/**
 * Pre-trade risk checks with small limits: 1000 USDT per order, 1500 USDT of position per
 * instrument (held plus open buys plus the order), 50 USDT of realised loss per account and day.
 * A breach answers RISK_LIMIT with the rule, limit and value, and stores, reserves and emits nothing.
 */
describe('risk limits', () => {
  let h: OrdersHarness;
  let token: string;

  const place = (accountId: string, input: Record<string, unknown>) =>
    h.request(PLACE, { input: { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', ...input } }, token);
  const count = async (table: string, accountId: string) => {
    const [row] = await h.server.orm.em.fork().execute(`select count(*) as "count" from "${table}" where ${table === 'outbox' ? `"data"->>'accountId'` : '"account_id"'} = ?`, [accountId]);
    return Number(row.count);
  };

  beforeAll(async () => {
    h = await startOrdersHarness('risk', { env: { RISK_MAX_ORDER_NOTIONAL: '1000', RISK_MAX_POSITION_NOTIONAL: '1500', RISK_DAILY_LOSS_LIMIT: '50' } });
    token = await h.token(randomUUID());
  });

  afterAll(async () => {
    await h?.close();
  });

  beforeEach(async () => {
    await h.prices('BTC/USDT', '100');
  });

  it('refuses an order over the notional limit, at its limit price or the last price, sending and storing nothing', async () => {
    const accountId = await h.linkPaper(token);
    const market = await place(accountId, { side: 'BUY', type: 'MARKET', quantity: '10.5' });
    expect(errorCode(market)).toBe('RISK_LIMIT');
    expect(market.errors![0]!.extensions).toMatchObject({ rule: 'MAX_ORDER_NOTIONAL', limit: '1000', value: '1050' });
    const limit = await place(accountId, { side: 'SELL', type: 'LIMIT', quantity: '5', price: '201' });
    expect(limit.errors![0]!.extensions).toMatchObject({ code: 'RISK_LIMIT', rule: 'MAX_ORDER_NOTIONAL', value: '1005' });
    expect(await count('trade_order', accountId)).toBe(0);
    expect(await count('outbox', accountId)).toBe(0);
    expect(await h.balances(token, accountId)).toEqual({ USDT: { free: '10000', locked: '0' } });
    // Under the limit it goes through.
    expect((await place(accountId, { side: 'BUY', type: 'MARKET', quantity: '9.9' })).errors).toBeUndefined();
  });

  it('refuses a buy that could take the position over its limit, counting open buys', async () => {
    const accountId = await h.linkPaper(token);
    expect((await place(accountId, { side: 'BUY', type: 'MARKET', quantity: '8' })).errors).toBeUndefined();
    expect((await place(accountId, { side: 'BUY', type: 'LIMIT', quantity: '5', price: '90' })).errors).toBeUndefined();
    // Held 8 + open 5 + 3 at 95 = 1520.
    const refused = await place(accountId, { side: 'BUY', type: 'LIMIT', quantity: '3', price: '95' });
    expect(refused.errors![0]!.extensions).toMatchObject({ code: 'RISK_LIMIT', rule: 'MAX_POSITION_NOTIONAL', limit: '1500', value: '1520' });
    expect(await count('trade_order', accountId)).toBe(2);
    // Selling reduces the position: never refused by it.
    expect((await place(accountId, { side: 'SELL', type: 'MARKET', quantity: '8' })).errors).toBeUndefined();
  });

  it('stops an account for the day once its realised loss reaches the daily limit', async () => {
    const accountId = await h.linkPaper(token, { feeRate: '0', slippageBps: '0' });
    const other = await h.linkPaper(token, { feeRate: '0', slippageBps: '0' });
    expect((await place(accountId, { side: 'BUY', type: 'MARKET', quantity: '5' })).errors).toBeUndefined();
    await h.prices('BTC/USDT', '91');
    // Sold at 91 what cost 100: a loss of 45, under the limit of 50.
    expect((await place(accountId, { side: 'SELL', type: 'MARKET', quantity: '5' })).errors).toBeUndefined();
    expect((await place(accountId, { side: 'BUY', type: 'MARKET', quantity: '1' })).errors).toBeUndefined();
    await h.prices('BTC/USDT', '85');
    // Another 6: 51 lost today.
    expect((await place(accountId, { side: 'SELL', type: 'MARKET', quantity: '1' })).errors).toBeUndefined();
    const refused = await place(accountId, { side: 'BUY', type: 'LIMIT', quantity: '0.1', price: '80' });
    expect(refused.errors![0]!.extensions).toMatchObject({ code: 'RISK_LIMIT', rule: 'DAILY_LOSS_LIMIT', limit: '50', value: '51' });
    // The limit is per account.
    expect((await place(other, { side: 'BUY', type: 'LIMIT', quantity: '0.1', price: '80' })).errors).toBeUndefined();
  });
});
