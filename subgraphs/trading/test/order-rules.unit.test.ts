import { AppError } from '../../kit/src';
import { entryEstimate, paperReservation, planOrder, referencePrice, triggerSpecOf, type OrderRequest } from '../src/orders/order-rules';
import { TradeOrderType, TradeSide } from '../src/orders/trade-order.model';
import { buyCost, feeFor, takerPrice, withSlippage } from '../src/paper/paper-pricing';
import { findRiskBreach, type RiskLimits } from '../src/risk/risk';

const BTC = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceDecimals: 2, amountDecimals: 5 };
const LIMITS = { twapMinIntervalMs: 1000, twapMaxDurationMs: 3_600_000 };
const request = (fields: Partial<OrderRequest> & Pick<OrderRequest, 'type'>): OrderRequest => ({ clientOrderId: 'c1', symbol: 'BTC/USDT', side: TradeSide.BUY, quantity: '1', ...fields });

/** The message of the BAD_USER_INPUT planOrder throws, or null when it accepts the request. */
function refusal(fields: Partial<OrderRequest> & Pick<OrderRequest, 'type'>, last = '100'): string | null {
  try {
    planOrder(request(fields), BTC, last, LIMITS);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).extensions.code).toBe('BAD_USER_INPUT');
    return (error as AppError).message;
  }
}

describe('order rules', () => {
  it('asks each type for its fields and refuses the ones it does not use', () => {
    expect(refusal({ type: TradeOrderType.MARKET })).toBeNull();
    expect(refusal({ type: TradeOrderType.MARKET, price: '100' })).toBe('price does not apply to MARKET orders');
    expect(refusal({ type: TradeOrderType.LIMIT })).toBe('LIMIT orders need price');
    expect(refusal({ type: TradeOrderType.STOP_LIMIT, stopPrice: '105' })).toBe('STOP_LIMIT orders need price');
    expect(refusal({ type: TradeOrderType.TAKE_PROFIT, stopPrice: '90' })).toBeNull();
    expect(refusal({ type: TradeOrderType.TAKE_PROFIT, stopPrice: '90', price: '90.5' })).toBeNull();
    expect(refusal({ type: TradeOrderType.ICEBERG, price: '99' })).toBe('ICEBERG orders need visibleQuantity');
    expect(refusal({ type: TradeOrderType.TWAP, twapSlices: 2 })).toBe('TWAP orders need twapDurationMs');
    expect(refusal({ type: TradeOrderType.TRAILING_STOP, trailingPercent: '2', stopPrice: '90' })).toBe('stopPrice does not apply to TRAILING_STOP orders');
  });

  it('holds quantities and prices to the instrument\'s decimals', () => {
    expect(refusal({ type: TradeOrderType.MARKET, quantity: '0.000001' })).toBe('quantity has more than 5 decimals for this instrument');
    expect(refusal({ type: TradeOrderType.LIMIT, price: '99.001' })).toBe('price has more than 2 decimals for this instrument');
    expect(refusal({ type: TradeOrderType.MARKET, quantity: '0' })).toBe('quantity must be a positive decimal string such as "0.5"');
    expect(planOrder(request({ type: TradeOrderType.LIMIT, quantity: '1.50000', price: '99.10' }), BTC, '100', LIMITS)).toMatchObject({ quantity: '1.5', price: '99.1' });
  });

  it('refuses stops and take-profits the last price has already reached', () => {
    expect(refusal({ type: TradeOrderType.STOP_MARKET, stopPrice: '100' })).toContain('already reached');
    expect(refusal({ type: TradeOrderType.STOP_MARKET, side: TradeSide.SELL, stopPrice: '100.01' })).toContain('already reached');
    expect(refusal({ type: TradeOrderType.TAKE_PROFIT, side: TradeSide.SELL, stopPrice: '99' })).toContain('must be above the last price');
    expect(refusal({ type: TradeOrderType.STOP_MARKET, side: TradeSide.SELL, stopPrice: '99.99' })).toBeNull();
  });

  it('checks TWAP spacing and iceberg sizes', () => {
    expect(refusal({ type: TradeOrderType.TWAP, twapDurationMs: 5000, twapSlices: 10 })).toContain('at least 1000 ms apart');
    expect(refusal({ type: TradeOrderType.TWAP, twapDurationMs: 7_200_000, twapSlices: 2 })).toBe('twapDurationMs must be at most 3600000');
    expect(refusal({ type: TradeOrderType.TWAP, quantity: '0.00002', twapDurationMs: 5000, twapSlices: 5 })).toContain('too small');
    expect(refusal({ type: TradeOrderType.ICEBERG, price: '99', visibleQuantity: '2' })).toContain('visibleQuantity must be below quantity');
  });

  it('places attached exits on the right side of the expected entry', () => {
    expect(planOrder(request({ type: TradeOrderType.LIMIT, price: '95', takeProfitPrice: '99', stopLossPrice: '90' }), BTC, '100', LIMITS).exits).toEqual({ takeProfit: '99', stopLoss: '90' });
    // The entry of a limit is its price, not the last price.
    expect(refusal({ type: TradeOrderType.LIMIT, price: '95', stopLossPrice: '96' })).toContain('stopLossPrice must be below the entry price 95');
    expect(refusal({ type: TradeOrderType.MARKET, side: TradeSide.SELL, takeProfitPrice: '101' })).toContain('below the entry price 100');
    expect(entryEstimate({ type: TradeOrderType.STOP_MARKET, price: null, stopPrice: '105' }, '100')).toBe('105');
  });

  it('maps order types to the triggers the engine watches', () => {
    const none = { trailingPercent: null, trailingAmount: null, activationPrice: null };
    expect(triggerSpecOf({ type: TradeOrderType.TAKE_PROFIT, side: TradeSide.SELL, price: null, stopPrice: '110', ...none })).toEqual({
      type: 'TAKE_PROFIT',
      side: 'SELL',
      triggerPrice: '110',
    });
    expect(triggerSpecOf({ type: TradeOrderType.TRAILING_STOP, side: TradeSide.BUY, price: null, stopPrice: null, ...none, trailingAmount: '3' })).toEqual({
      type: 'TRAILING_STOP',
      side: 'BUY',
      trailingAmount: '3',
    });
    expect(triggerSpecOf({ type: TradeOrderType.TRAILING_STOP, side: TradeSide.SELL, price: null, stopPrice: null, ...none, trailingPercent: '2', activationPrice: '120' })).toEqual({
      type: 'TRAILING_STOP',
      side: 'SELL',
      trailingPercent: '2',
      activationPrice: '120',
    });
    expect(triggerSpecOf({ type: TradeOrderType.LIMIT, side: TradeSide.BUY, price: '99', stopPrice: null, ...none })).toBeNull();
  });

  it('reserves what a paper order can cost: the base for a sell; limit or slipped reference plus fee for a buy', () => {
    const terms = { feeRate: '0.001', slippageBps: '10' };
    const plan = (fields: Partial<OrderRequest> & Pick<OrderRequest, 'type'>) => planOrder(request(fields), BTC, '100', LIMITS);
    expect(paperReservation(plan({ type: TradeOrderType.LIMIT, side: TradeSide.SELL, price: '120' }), '100', terms)).toEqual({ asset: 'BTC', amount: '1' });
    expect(paperReservation(plan({ type: TradeOrderType.LIMIT, price: '95' }), '100', terms)).toEqual({ asset: 'USDT', amount: '95.095' });
    expect(paperReservation(plan({ type: TradeOrderType.STOP_MARKET, stopPrice: '105' }), '100', terms)).toEqual({ asset: 'USDT', amount: '105.210105' });
    expect(paperReservation(plan({ type: TradeOrderType.TRAILING_STOP, trailingPercent: '2' }), '100', terms)).toEqual({ asset: 'USDT', amount: '102.204102' });
    expect(referencePrice(plan({ type: TradeOrderType.TRAILING_STOP, trailingAmount: '3' }), '100').toFixed()).toBe('103');
  });
});

describe('paper pricing', () => {
  it('moves taker prices against the trader, rounds to the tick against them, never past a limit', () => {
    expect(takerPrice('BUY', '100', '10', 2).toFixed()).toBe('100.1');
    expect(takerPrice('BUY', '94.9', '10', 2).toFixed()).toBe('95');
    expect(takerPrice('SELL', '94.9', '10', 2).toFixed()).toBe('94.8');
    expect(takerPrice('BUY', '100', '10', 2, '100.05').toFixed()).toBe('100.05');
    expect(takerPrice('SELL', '100', '10', 2, '99.95').toFixed()).toBe('99.95');
    expect(takerPrice('SELL', '0.004', '10', 2).toFixed()).toBe('0.01');
  });

  it('charges the fee on the notional, rounded up', () => {
    expect(feeFor('200.2', '0.001').toFixed()).toBe('0.2002');
    expect(feeFor('0.00000000001', '0.001').toFixed()).toBe('0.0000000001');
    expect(buyCost('2', '100.1', '0.001').toFixed()).toBe('200.4002');
    expect(withSlippage('105', '10').toFixed()).toBe('105.105');
  });
});

describe('risk checks', () => {
  const limits: RiskLimits = { maxOrderNotional: '1000', maxPositionNotional: '1500', dailyLossLimit: '50' };
  const flat = { positionQuantity: '0', openBuyQuantity: '0', realizedToday: '0' };

  it('passes an order inside every limit', () => {
    expect(findRiskBreach(limits, { side: 'BUY', quantity: '10', referencePrice: '100' }, flat)).toBeNull();
    expect(findRiskBreach({ maxOrderNotional: null, maxPositionNotional: null, dailyLossLimit: null }, { side: 'BUY', quantity: '1e6', referencePrice: '1e6' }, { ...flat, realizedToday: '-1e9' })).toBeNull();
  });

  it('names the rule, the limit and the value', () => {
    expect(findRiskBreach(limits, { side: 'SELL', quantity: '10.01', referencePrice: '100' }, flat)).toMatchObject({ rule: 'MAX_ORDER_NOTIONAL', limit: '1000', value: '1001' });
    expect(findRiskBreach(limits, { side: 'BUY', quantity: '5', referencePrice: '100' }, { ...flat, positionQuantity: '6', openBuyQuantity: '4.5' })).toMatchObject({
      rule: 'MAX_POSITION_NOTIONAL',
      value: '1550',
    });
    expect(findRiskBreach(limits, { side: 'SELL', quantity: '1', referencePrice: '100' }, { ...flat, realizedToday: '-50' })).toMatchObject({ rule: 'DAILY_LOSS_LIMIT', value: '50' });
  });

  it('lets a sell through the position limit and gains through the loss limit', () => {
    expect(findRiskBreach(limits, { side: 'SELL', quantity: '5', referencePrice: '100' }, { ...flat, positionQuantity: '100' })).toBeNull();
    expect(findRiskBreach(limits, { side: 'BUY', quantity: '1', referencePrice: '100' }, { ...flat, realizedToday: '500' })).toBeNull();
  });
});
