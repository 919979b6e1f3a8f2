import { randomUUID } from 'node:crypto';
import { startTrading, uniquePrefix, type TradingHarness } from './support/harness';
import { CANCEL, cid, startOrdersHarness, type OrdersHarness } from './support/orders-harness';

/**
 * Stops a tick crosses fire together in one statement from the engine's own records of them; when
 * that statement is refused (an order changed by another replica meanwhile, an account short of
 * funds for the gap), each order fires on its locked row instead, as it stands there. BTC/USDT at 100; 0.1 % fee and
 * 10 bps slippage: a BUY stop at 105 reserves 105 × 1.001 × 1.001 = 105.210105.
 */
describe('stops fired by one tick', () => {
  let h: OrdersHarness;
  let replica: TradingHarness;
  let token: string;

  const account = (usdt = '10000') => h.linkPaper(token, { feeRate: '0.001', slippageBps: '10', startingBalances: [{ asset: 'USDT', amount: usdt }] });
  const buyStop = (accountId: string) => h.place(token, { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'STOP_MARKET', quantity: '1', stopPrice: '105' });

  beforeAll(async () => {
    h = await startOrdersHarness('tick_fires');
    // A second replica on the same database, workers off: it changes orders the first one watches.
    replica = await startTrading({ databaseUrl: h.server.orm.config.getClientUrl(), prefix: uniquePrefix('tick_fires'), issuer: h.issuer });
    token = await h.token(randomUUID());
  });

  afterAll(async () => {
    await replica?.close();
    await h?.close();
  });

  beforeEach(async () => {
    await h.prices('BTC/USDT', '100');
  });

  it('fills every stop of the tick, and cancels only the one whose account cannot pay the gap', async () => {
    // Exactly the reservation: the fill at 106.11 costs more, and nothing is free to pay the rest.
    const short = await account('105.210105');
    const funded = await account();
    const [unfunded, filled] = [await buyStop(short), await buyStop(funded)];
    expect((await h.balances(token, short)).USDT).toEqual({ free: '0', locked: '105.210105' });

    await h.prices('BTC/USDT', '106');
    expect(await h.order(token, unfunded.id)).toMatchObject({ status: 'CANCELLED', reason: 'INSUFFICIENT_BALANCE: the account could not fund the fill at 106', fills: [] });
    expect(await h.balances(token, short)).toEqual({ USDT: { free: '105.210105', locked: '0' } });
    expect(await h.order(token, filled.id)).toMatchObject({ status: 'FILLED', averagePrice: '106.11' });
    expect(await h.balances(token, funded)).toEqual({ BTC: { free: '1', locked: '0' }, USDT: { free: '9893.78389', locked: '0' } });
  });

  it('does not fill a stop another replica cancelled after this engine read it; the others of the tick fill', async () => {
    const accountId = await account();
    const cancelled = await buyStop(accountId);
    const kept = await buyStop(accountId);
    const cancel = await replica.request(CANCEL, { id: cancelled.id }, token);
    expect(cancel.errors).toBeUndefined();
    expect(h.server.engine.watched).toBeGreaterThanOrEqual(2);

    await h.prices('BTC/USDT', '106');
    expect(await h.order(token, cancelled.id)).toMatchObject({ status: 'CANCELLED', reason: 'Cancelled by the user', fills: [] });
    expect(await h.order(token, kept.id)).toMatchObject({ status: 'FILLED', averagePrice: '106.11' });
    // One reservation given back by the cancel, one used by the fill: 10000 − 106.11 − 0.10611.
    expect(await h.balances(token, accountId)).toEqual({ BTC: { free: '1', locked: '0' }, USDT: { free: '9893.78389', locked: '0' } });
  });

  it('leaves a stop-limit another replica triggered resting until the price reaches its limit', async () => {
    const accountId = await account();
    const order = await h.place(token, { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'STOP_LIMIT', quantity: '1', stopPrice: '105', price: '105.5' });
    // Another replica's engine saw 106 first: it triggered the order, which now rests at its limit.
    await h.server.orm.em.fork().execute(
      `update "trade_order" set "triggered_at" = now(), "trigger_tick_at" = now(), "reason" = 'Triggered at 106: working as a limit order at 105.5', "version" = "version" + 1 where "id" = ?`,
      [order.id],
    );

    await h.prices('BTC/USDT', '106');
    expect(await h.order(token, order.id)).toMatchObject({ status: 'OPEN', fills: [] });
    await h.prices('BTC/USDT', '105.4');
    const filled = await h.order(token, order.id);
    expect(filled).toMatchObject({ status: 'FILLED', averagePrice: '105.5' });
    expect(filled.fills).toEqual([expect.objectContaining({ price: '105.5', liquidity: 'MAKER' })]);
  });

  it('fills a crossing wider than one statement, each account whole, and refuses only the short account', async () => {
    const funded = await Promise.all(Array.from({ length: 8 }, () => account()));
    const short = await account('105.210105');
    const stops = await Promise.all(funded.flatMap((accountId) => Array.from({ length: 5 }, () => buyStop(accountId))));
    const unfunded = await buyStop(short);

    await h.prices('BTC/USDT', '106');
    for (const stop of stops) expect(await h.order(token, stop.id)).toMatchObject({ status: 'FILLED', averagePrice: '106.11' });
    expect(await h.order(token, unfunded.id)).toMatchObject({ status: 'CANCELLED', fills: [] });
    // Five fills of 1 BTC at 106.11 plus 0.1 % fee each: 10000 − 5 × 106.21611.
    for (const accountId of funded) expect(await h.balances(token, accountId)).toEqual({ BTC: { free: '5', locked: '0' }, USDT: { free: '9468.91945', locked: '0' } });
    expect(await h.balances(token, short)).toEqual({ USDT: { free: '105.210105', locked: '0' } });
  });
});
