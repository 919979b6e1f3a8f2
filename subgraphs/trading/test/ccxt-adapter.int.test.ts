import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import * as ccxt from 'ccxt';
import pino from 'pino';
import { replaceApiUrls } from '../src/exchange/api-urls';
import { createCcxtAdapter, type CcxtAdapterOptions, type CcxtExchangeAdapter } from '../src/exchange/ccxt.adapter';
import { ExchangeError, type PlaceOrderRequest } from '../src/exchange/exchange-adapter';
import { FakeBinance } from './support/fake-binance';

/** Binance keys and secrets are 64 alphanumerics. */
const credential = (): string => randomBytes(48).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 64).padEnd(64, 'x');
const API_KEY = credential();
const SECRET = credential();

/** A pino logger at trace level writing into memory, so a test can read every line. */
function memoryLog(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: pino({ level: 'trace' }, stream), lines };
}

/** The ExchangeError a promise rejects with. */
async function failureOf(work: Promise<unknown>): Promise<ExchangeError> {
  const error = await work.then(
    () => new Error('expected the call to fail'),
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ExchangeError);
  return error as ExchangeError;
}

describe('ccxt exchange adapter against a local Binance', () => {
  let fake: FakeBinance;
  let memory: ReturnType<typeof memoryLog>;
  const adapters: CcxtExchangeAdapter[] = [];
  let sequence = 0;

  /** The real ccxt `binance` class pointed at the fake. */
  const adapterFor = (overrides: Partial<CcxtAdapterOptions> = {}): CcxtExchangeAdapter => {
    const adapter = createCcxtAdapter({
      exchangeId: 'binance',
      credentials: { apiKey: API_KEY, secret: SECRET },
      timeoutMs: 5_000,
      apiUrls: fake.apiUrls,
      // The fake has no rate limits; ccxt's throttle would only slow the test down.
      exchangeOptions: { enableRateLimit: false },
      log: memory.log,
      ...overrides,
    });
    adapters.push(adapter);
    return adapter;
  };

  const order = (fields: Partial<PlaceOrderRequest> & Pick<PlaceOrderRequest, 'type' | 'side' | 'quantity'>): PlaceOrderRequest => ({
    clientOrderId: `mercado-${++sequence}-${randomBytes(4).toString('hex')}`,
    symbol: 'BTC/USDT',
    ...fields,
  });

  const orderRequests = () => fake.requests.filter((request) => request.path === '/api/v3/order' && request.method === 'POST');

  beforeEach(async () => {
    memory = memoryLog();
    fake = await FakeBinance.start();
    fake.addAccount(API_KEY, SECRET, { BTC: '0.5', USDT: '10000', ETH: '0' });
    fake.setPrice('BTCUSDT', '65000');
    fake.setPrice('ETHUSDT', '3500');
  });

  afterEach(async () => {
    await Promise.all(adapters.splice(0).map((adapter) => adapter.close()));
    await fake.close();
  });

  it('loads spot markets with their filters as decimal strings', async () => {
    const markets = await adapterFor().loadMarkets();
    expect(markets).toEqual([
      { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', minQuantity: '0.00001', minNotional: '5', quantityStep: '0.00001', priceStep: '0.01' },
      { symbol: 'ETH/USDT', base: 'ETH', quote: 'USDT', minQuantity: '0.0001', minNotional: '5', quantityStep: '0.0001', priceStep: '0.01' },
      { symbol: 'SOL/USDT', base: 'SOL', quote: 'USDT', minQuantity: '0.001', minNotional: '5', quantityStep: '0.001', priceStep: '0.01' },
    ]);
    // Spot only: no futures exchangeInfo, no private currency or margin endpoints.
    expect([...new Set(fake.requests.map((request) => request.path))]).toEqual(['/api/v3/exchangeInfo']);
  });

  it('fetches held balances with a signed request', async () => {
    const balances = await adapterFor().fetchBalances();
    expect(balances).toEqual([
      { asset: 'BTC', free: '0.5', used: '0', total: '0.5' },
      { asset: 'USDT', free: '10000', used: '0', total: '10000' },
    ]);
    const account = fake.requests.find((request) => request.path === '/api/v3/account')!;
    expect(account).toMatchObject({ outcome: 'ok', apiKey: API_KEY });
    expect(account.params.get('signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('places a market order that fills at once, with fills and fees, and fetches it back', async () => {
    const adapter = adapterFor();
    const request = order({ type: 'MARKET', side: 'BUY', quantity: '0.01' });
    const placed = await adapter.placeOrder(request);

    expect(placed).toEqual({
      exchangeOrderId: expect.stringMatching(/^\d+$/),
      clientOrderId: request.clientOrderId,
      status: 'FILLED',
      filledQuantity: '0.01',
      averagePrice: '65000',
      fills: [{ tradeId: expect.stringMatching(/^\d+$/), price: '65000', quantity: '0.01', fee: '0.00001', feeCurrency: 'BTC', timestamp: expect.any(Number) }],
    });
    const sent = orderRequests()[0]!;
    expect(Object.fromEntries(['symbol', 'side', 'type', 'quantity', 'newClientOrderId'].map((name) => [name, sent.params.get(name)]))).toEqual({
      symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '0.01', newClientOrderId: request.clientOrderId,
    });
    // Bought 0.01 BTC less the 0.1 % commission, paid 650 USDT.
    expect(fake.balance(API_KEY, 'BTC')).toEqual({ free: '0.50999000', locked: '0.00000000' });
    expect(fake.balance(API_KEY, 'USDT')).toEqual({ free: '9350.00000000', locked: '0.00000000' });

    // GET /api/v3/order has no fills: they come from myTrades.
    await expect(adapter.fetchOrder(placed.exchangeOrderId, 'BTC/USDT')).resolves.toEqual(placed);
    expect(fake.requests.some((request) => request.path === '/api/v3/myTrades' && request.params.get('orderId') === placed.exchangeOrderId)).toBe(true);
  });

  it('rests a limit order, reports a partial fill, and cancels the rest', async () => {
    const adapter = adapterFor();
    const request = order({ type: 'LIMIT', side: 'BUY', quantity: '0.01', price: '64000' });
    const placed = await adapter.placeOrder(request);
    expect(placed).toMatchObject({ clientOrderId: request.clientOrderId, status: 'OPEN', filledQuantity: '0', averagePrice: null, fills: [] });
    expect(orderRequests()[0]!.params.get('timeInForce')).toBe('GTC');
    expect(fake.balance(API_KEY, 'USDT')).toEqual({ free: '9360.00000000', locked: '640.00000000' });

    fake.fill(Number(placed.exchangeOrderId), '0.004');
    const partial = await adapter.fetchOrder(placed.exchangeOrderId, 'BTC/USDT');
    expect(partial).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '0.004', averagePrice: '64000' });
    expect(partial.fills).toEqual([{ tradeId: expect.any(String), price: '64000', quantity: '0.004', fee: '0.000004', feeCurrency: 'BTC', timestamp: expect.any(Number) }]);

    const cancelled = await adapter.cancelOrder(placed.exchangeOrderId, 'BTC/USDT');
    expect(cancelled).toEqual({ ...partial, status: 'CANCELLED' });
    // The unfilled part's funds are free again.
    expect(fake.balance(API_KEY, 'USDT')).toEqual({ free: '9744.00000000', locked: '0.00000000' });
  });

  it('fills a resting limit order when the price reaches it; cancelling it afterwards reports the fill', async () => {
    const adapter = adapterFor();
    const placed = await adapter.placeOrder(order({ type: 'LIMIT', side: 'SELL', quantity: '0.1', price: '66000' }));
    expect(placed.status).toBe('OPEN');
    fake.setPrice('BTCUSDT', '66000.5');
    const filled = await adapter.fetchOrder(placed.exchangeOrderId, 'BTC/USDT');
    expect(filled).toMatchObject({ status: 'FILLED', filledQuantity: '0.1', averagePrice: '66000' });
    expect(filled.fills).toEqual([expect.objectContaining({ price: '66000', quantity: '0.1', fee: '6.6', feeCurrency: 'USDT' })]);

    // Binance answers "Unknown order sent." for a filled order: the adapter reports how it ended.
    await expect(adapter.cancelOrder(placed.exchangeOrderId, 'BTC/USDT')).resolves.toEqual(filled);
    expect(fake.requests.find((request) => request.method === 'DELETE')).toMatchObject({ outcome: 'refused', error: { code: -2011, msg: 'Unknown order sent.' } });
  });

  it('a limit order marketable on arrival fills at once', async () => {
    const placed = await adapterFor().placeOrder(order({ type: 'LIMIT', side: 'BUY', quantity: '0.002', price: '65100' }));
    expect(placed).toMatchObject({ status: 'FILLED', filledQuantity: '0.002', averagePrice: '65000' });
  });

  it('places stop, take-profit and iceberg orders natively with the parameters Binance expects', async () => {
    const adapter = adapterFor();
    const stopMarket = await adapter.placeOrder(order({ type: 'STOP_MARKET', side: 'SELL', quantity: '0.1', stopPrice: '60000' }));
    const stopLimit = await adapter.placeOrder(order({ type: 'STOP_LIMIT', side: 'SELL', quantity: '0.1', stopPrice: '61000', price: '60900' }));
    const takeProfit = await adapter.placeOrder(order({ type: 'TAKE_PROFIT', side: 'SELL', quantity: '0.1', stopPrice: '70000' }));
    const takeProfitLimit = await adapter.placeOrder(order({ type: 'TAKE_PROFIT', side: 'SELL', quantity: '0.1', stopPrice: '71000', price: '70900' }));
    const iceberg = await adapter.placeOrder(order({ type: 'ICEBERG', side: 'BUY', quantity: '0.05', price: '60000', visibleQuantity: '0.01' }));
    for (const placed of [stopMarket, stopLimit, takeProfit, takeProfitLimit, iceberg]) {
      expect(placed).toMatchObject({ status: 'OPEN', filledQuantity: '0', fills: [] });
    }
    const sent = orderRequests().map((request) => Object.fromEntries(['type', 'stopPrice', 'price', 'icebergQty', 'timeInForce'].flatMap((name) => (request.params.has(name) ? [[name, request.params.get(name)]] : []))));
    expect(sent).toEqual([
      { type: 'STOP_LOSS', stopPrice: '60000' },
      { type: 'STOP_LOSS_LIMIT', stopPrice: '61000', price: '60900', timeInForce: 'GTC' },
      { type: 'TAKE_PROFIT', stopPrice: '70000' },
      { type: 'TAKE_PROFIT_LIMIT', stopPrice: '71000', price: '70900', timeInForce: 'GTC' },
      { type: 'LIMIT', price: '60000', icebergQty: '0.01', timeInForce: 'GTC' },
    ]);
    expect(fake.order(Number(iceberg.exchangeOrderId))).toMatchObject({ type: 'LIMIT', icebergQty: '0.01000000', status: 'NEW' });

    // The price falls through the stop-limit's stop, still above its limit: it sells at the limit.
    fake.setPrice('BTCUSDT', '60950');
    await expect(adapter.fetchOrder(stopLimit.exchangeOrderId, 'BTC/USDT')).resolves.toMatchObject({ status: 'FILLED', averagePrice: '60900' });
    await expect(adapter.fetchOrder(stopMarket.exchangeOrderId, 'BTC/USDT')).resolves.toMatchObject({ status: 'OPEN' });
    // Then through the stop-market's stop: it sells at the market.
    fake.setPrice('BTCUSDT', '59990');
    const stopped = await adapter.fetchOrder(stopMarket.exchangeOrderId, 'BTC/USDT');
    expect(stopped).toMatchObject({ status: 'FILLED', filledQuantity: '0.1', averagePrice: '59990' });
    expect(stopped.fills).toEqual([expect.objectContaining({ price: '59990', quantity: '0.1', fee: '5.999', feeCurrency: 'USDT' })]);
  });

  it('detects native order types from ccxt features, not a per-exchange list', () => {
    const binance = adapterFor();
    const types = ['MARKET', 'LIMIT', 'STOP_MARKET', 'STOP_LIMIT', 'TAKE_PROFIT', 'TRAILING_STOP', 'ICEBERG'] as const;
    const support = (adapter: CcxtExchangeAdapter) => Object.fromEntries(types.map((type) => [type, adapter.supportsNatively(type)]));
    // ccxt's binance spot features: stop-loss and take-profit prices, iceberg amounts; trailing: false.
    expect(support(binance)).toEqual({ MARKET: true, LIMIT: true, STOP_MARKET: true, STOP_LIMIT: true, TAKE_PROFIT: true, TRAILING_STOP: false, ICEBERG: true });
    // The same class with its features overridden answers differently.
    const noIceberg = adapterFor({ exchangeOptions: { enableRateLimit: false, features: { spot: { createOrder: { icebergAmount: false } } } } });
    expect(noIceberg.supportsNatively('ICEBERG')).toBe(false);
    // Other exchanges' features: kraken trails and shows icebergs, coinbase does neither.
    const kraken = adapterFor({ exchangeId: 'kraken', apiUrls: undefined });
    const coinbase = adapterFor({ exchangeId: 'coinbase', apiUrls: undefined });
    expect([kraken.supportsNatively('TRAILING_STOP'), kraken.supportsNatively('ICEBERG')]).toEqual([true, true]);
    expect([coinbase.supportsNatively('TRAILING_STOP'), coinbase.supportsNatively('ICEBERG')]).toEqual([false, false]);
    expect(() => adapterFor({ exchangeId: 'nosuchexchange' })).toThrow('ccxt has no exchange "nosuchexchange"');
  });

  it('refuses an order type the exchange does not take natively without sending it', async () => {
    const error = await failureOf(adapterFor().placeOrder(order({ type: 'TRAILING_STOP', side: 'SELL', quantity: '0.1', trailingPercent: '2' })));
    expect(error).toMatchObject({ kind: 'REJECTED', exchangeId: 'binance', message: 'binance: binance does not take TRAILING_STOP orders natively; the engine emulates them' });
    expect(orderRequests()).toEqual([]);
  });

  it('maps orders Binance refuses to REJECTED with its message', async () => {
    const adapter = adapterFor();
    const funds = await failureOf(adapter.placeOrder(order({ type: 'MARKET', side: 'BUY', quantity: '1' })));
    expect(funds).toMatchObject({ kind: 'REJECTED', message: 'binance: Account has insufficient balance for requested action.' });
    expect((funds.cause as Error).name).toBe('InsufficientFunds');

    const lot = await failureOf(adapter.placeOrder(order({ symbol: 'SOL/USDT', type: 'LIMIT', side: 'SELL', quantity: '9001', price: '150' })));
    expect(lot).toMatchObject({ kind: 'REJECTED', message: 'binance: Filter failure: LOT_SIZE' });
    const notional = await failureOf(adapter.placeOrder(order({ type: 'LIMIT', side: 'BUY', quantity: '0.00001', price: '64000' })));
    expect(notional).toMatchObject({ kind: 'REJECTED', message: 'binance: Filter failure: NOTIONAL' });
    const immediate = await failureOf(adapter.placeOrder(order({ type: 'STOP_MARKET', side: 'SELL', quantity: '0.1', stopPrice: '66000' })));
    expect(immediate).toMatchObject({ kind: 'REJECTED', message: 'binance: Stop price would trigger immediately.' });
    expect(orderRequests().map((request) => request.error)).toEqual([
      { code: -2010, msg: 'Account has insufficient balance for requested action.' },
      { code: -1013, msg: 'Filter failure: LOT_SIZE' },
      { code: -1013, msg: 'Filter failure: NOTIONAL' },
      { code: -2010, msg: 'Stop price would trigger immediately.' },
    ]);

    // Off the step: refused here, not silently truncated by ccxt and sent.
    const offStep = await failureOf(adapter.placeOrder(order({ type: 'LIMIT', side: 'BUY', quantity: '0.000015', price: '64000' })));
    expect(offStep).toMatchObject({ kind: 'REJECTED', message: "binance: quantity 0.000015 does not fit BTC/USDT's quantity step 0.00001" });
    const missingPrice = await failureOf(adapter.placeOrder(order({ type: 'LIMIT', side: 'BUY', quantity: '0.01' })));
    expect(missingPrice).toMatchObject({ kind: 'REJECTED', message: 'binance: LIMIT orders need price' });
    expect(orderRequests()).toHaveLength(4);

    // Unknown orders are refused too.
    await expect(failureOf(adapter.fetchOrder('424242', 'BTC/USDT'))).resolves.toMatchObject({ kind: 'REJECTED', message: 'binance: Order does not exist.' });
  });

  it('a placement that times out is UNAVAILABLE; recovery by client order id finds the order it placed', async () => {
    const adapter = adapterFor({ timeoutMs: 300 });
    await adapter.loadMarkets();
    const request = order({ type: 'MARKET', side: 'BUY', quantity: '0.01' });
    // Binance takes the order, but its answer never arrives.
    fake.holdResponses(1, { path: '/api/v3/order' });
    const timeout = await failureOf(adapter.placeOrder(request));
    expect(timeout).toMatchObject({ kind: 'UNAVAILABLE' });
    expect((timeout.cause as Error).name).toBe('RequestTimeout');
    expect(orderRequests()[0]).toMatchObject({ outcome: 'unanswered' });

    const recovered = await adapter.recoverOrder(request.clientOrderId, 'BTC/USDT');
    expect(recovered).toMatchObject({ clientOrderId: request.clientOrderId, status: 'FILLED', filledQuantity: '0.01', averagePrice: '65000' });
    expect(recovered!.fills).toEqual([expect.objectContaining({ price: '65000', quantity: '0.01', fee: '0.00001', feeCurrency: 'BTC' })]);
    const lookup = fake.requests.filter((entry) => entry.path === '/api/v3/order' && entry.method === 'GET').pop()!;
    expect(lookup.params.get('origClientOrderId')).toBe(request.clientOrderId);
  });

  it('a placement that never reached the exchange recovers as null and can be placed again', async () => {
    const adapter = adapterFor({ timeoutMs: 300 });
    await adapter.loadMarkets();
    const request = order({ type: 'LIMIT', side: 'BUY', quantity: '0.01', price: '64000' });
    fake.hang();
    await expect(failureOf(adapter.placeOrder(request))).resolves.toMatchObject({ kind: 'UNAVAILABLE' });
    fake.resume();
    await expect(adapter.recoverOrder(request.clientOrderId, 'BTC/USDT')).resolves.toBeNull();
    const placed = await adapter.placeOrder(request);
    expect(placed).toMatchObject({ clientOrderId: request.clientOrderId, status: 'OPEN' });

    // Sent again while it is open, the same client order id is recognised instead of refused.
    await expect(adapter.placeOrder(request)).resolves.toEqual(placed);
    expect(orderRequests().pop()).toMatchObject({ outcome: 'refused', error: { code: -2010, msg: 'Duplicate order sent.' } });
    expect(fake.requests.filter((entry) => entry.path === '/api/v3/openOrders')).toEqual([]);
  });

  it('maps a 503 from Binance to UNAVAILABLE', async () => {
    const adapter = adapterFor();
    fake.fail(1, { path: '/api/v3/account' });
    await expect(failureOf(adapter.fetchBalances())).resolves.toMatchObject({ kind: 'UNAVAILABLE' });
    await expect(adapter.fetchBalances()).resolves.toHaveLength(2);
  });

  it('maps a bad signature or an unknown key to AUTH', async () => {
    const badSecret = adapterFor({ credentials: { apiKey: API_KEY, secret: credential() } });
    const signature = await failureOf(badSecret.fetchBalances());
    expect(signature).toMatchObject({ kind: 'AUTH', message: 'binance: Signature for this request is not valid.' });
    await expect(failureOf(badSecret.placeOrder(order({ type: 'MARKET', side: 'BUY', quantity: '0.01' })))).resolves.toMatchObject({ kind: 'AUTH' });

    const unknownKey = adapterFor({ credentials: { apiKey: credential(), secret: SECRET } });
    await expect(failureOf(unknownKey.fetchBalances())).resolves.toMatchObject({ kind: 'AUTH', message: 'binance: Invalid API-key, IP, or permissions for action.' });
    expect(fake.requests.filter((request) => request.outcome === 'refused').map((request) => request.error!.code)).toEqual([-1022, -1022, -2015]);
    // Nothing was traded.
    expect(fake.balance(API_KEY, 'USDT').free).toBe('10000.00000000');
  });

  it('never puts the key or the secret in an error or a log line', async () => {
    const secrets = [API_KEY, SECRET];
    const wrongSecret = credential();
    const wrongKey = credential();
    const errors: ExchangeError[] = [];
    const collect = async (work: Promise<unknown>) => errors.push(await failureOf(work));

    const adapter = adapterFor({ timeoutMs: 300 });
    await adapter.placeOrder(order({ type: 'MARKET', side: 'BUY', quantity: '0.01' }));
    await collect(adapter.placeOrder(order({ type: 'MARKET', side: 'BUY', quantity: '5' })));
    await collect(adapter.fetchOrder('1', 'BTC/USDT'));
    fake.holdResponses(1);
    await collect(adapter.fetchBalances());
    fake.resume();
    await collect(adapterFor({ credentials: { apiKey: API_KEY, secret: wrongSecret } }).fetchBalances());
    await collect(adapterFor({ credentials: { apiKey: wrongKey, secret: SECRET } }).placeOrder(order({ type: 'MARKET', side: 'BUY', quantity: '0.01' })));
    expect(errors.map((error) => error.kind)).toEqual(['REJECTED', 'REJECTED', 'UNAVAILABLE', 'AUTH', 'AUTH']);

    const written = [
      ...errors.flatMap((error) => [error.message, error.stack ?? '', (error.cause as Error).message, (error.cause as Error).stack ?? '', JSON.stringify(error)]),
      ...memory.lines,
    ];
    expect(memory.lines.filter((line) => line.includes('"exchange call failed"'))).toHaveLength(5);
    for (const secret of [...secrets, wrongSecret, wrongKey]) {
      expect(written.filter((text) => text.includes(secret))).toEqual([]);
    }
    // The timed-out request's URL is kept without its query string (timestamp, signature).
    expect(errors[2]!.message).toMatch(/^binance: GET http:\/\/127\.0\.0\.1:\d+\/api\/v3\/account request timed out/);
    expect(written.filter((text) => text.includes('signature='))).toEqual([]);
  });
});

describe('the fake Binance', () => {
  let fake: FakeBinance;

  beforeEach(async () => {
    fake = await FakeBinance.start();
    fake.addAccount(API_KEY, SECRET, { BTC: '1', USDT: '0' });
    fake.setPrice('BTCUSDT', '65000');
  });

  afterEach(async () => {
    await fake.close();
  });

  it('takes a trailing stop-loss (trailingDelta in basis points) as ccxt sends it, and triggers it from the best price', async () => {
    // The adapter leaves trailing stops to the engine (ccxt's binance spot features say trailing: false),
    // so this drives ccxt's binance class directly, as an engine opting in would.
    const exchange = new ccxt.binance({ apiKey: API_KEY, secret: SECRET, enableRateLimit: false, options: { fetchMarkets: { types: ['spot'] }, fetchCurrencies: false, fetchMargins: false } });
    replaceApiUrls(exchange, fake.apiUrls);
    try {
      const placed = await exchange.createOrder('BTC/USDT', 'market', 'sell', 0.1, undefined, { trailingPercent: 2, stopLossOrTakeProfit: 'stopLoss' });
      const sent = fake.requests.find((request) => request.method === 'POST')!;
      expect([sent.params.get('type'), sent.params.get('trailingDelta'), sent.params.has('stopPrice')]).toEqual(['STOP_LOSS', '200', false]);
      expect(fake.order(Number(placed.id))).toMatchObject({ type: 'STOP_LOSS', trailingDelta: 200, status: 'NEW', isWorking: false });

      // Up to 70000, then down 1.9 %: still resting; down 2 % from the best price: sold at the market.
      fake.setPrice('BTCUSDT', '70000');
      fake.setPrice('BTCUSDT', '68670');
      expect(fake.order(Number(placed.id))).toMatchObject({ status: 'NEW' });
      fake.setPrice('BTCUSDT', '68600');
      expect(fake.order(Number(placed.id))).toMatchObject({ status: 'FILLED', executedQty: '0.10000000', cummulativeQuoteQty: '6860.00000000' });
      expect(fake.balance(API_KEY, 'USDT')).toEqual({ free: '6853.14000000', locked: '0.00000000' });
    } finally {
      await exchange.close();
    }
  });
});
