import { rebalancePlan, type PlanHolding, type PlanInput } from '../src/target/rebalance';
import { normalizeTargets } from '../src/target/target.service';
import { Dec } from '../src/shared/decimal';

const held = (asset: string, quantity: string, price: string | null): PlanHolding => ({
  asset,
  symbol: `${asset}/USDT`,
  quantity: new Dec(quantity),
  price: price === null ? null : new Dec(price),
  value: new Dec(quantity).times(price ?? '0'),
});
const weights = (entries: Record<string, string>) => Object.entries(entries).map(([asset, weight]) => ({ asset, weight: new Dec(weight) }));
const plan = (input: Partial<PlanInput>) =>
  rebalancePlan({ quote: 'USDT', cashAssets: ['USDT', 'USDC'], holdings: [], targets: [], prices: new Map(), minNotional: new Dec(0), ...input });
const orders = (result: ReturnType<typeof rebalancePlan>) => result.orders.map((order) => [order.side, order.symbol, order.quantity.toFixed(), order.notional.toFixed()]);

describe('rebalancePlan', () => {
  // 1 BTC at 30000 and 10 ETH at 2000: 50000 in all.
  const holdings = [held('BTC', '1', '30000'), held('ETH', '10', '2000')];

  it('sells what is above target and buys what is below, sells first, largest first', () => {
    const result = plan({ holdings, targets: weights({ BTC: '0.5', ETH: '0.3', SOL: '0.2' }), prices: new Map([['SOL', new Dec('100')]]) });
    expect(result.totalValue.toFixed()).toBe('50000');
    // BTC: 25000 − 30000 → sell 5000 / 30000 = 0.16666666 (rounded down). ETH: 15000 − 20000 → sell 2.5. SOL: buy 10000 / 100.
    expect(orders(result)).toEqual([
      ['SELL', 'ETH/USDT', '2.5', '5000'],
      ['SELL', 'BTC/USDT', '0.16666666', '4999.9998'],
      ['BUY', 'SOL/USDT', '100', '10000'],
    ]);
    expect(result.orders.map((order) => [order.currentWeight.toFixed(), order.targetWeight.toFixed()])).toEqual([
      ['0.4', '0.3'],
      ['0.6', '0.5'],
      ['0', '0.2'],
    ]);
    expect(result.skipped).toEqual([]);
  });

  it('skips orders below the minimum notional', () => {
    const result = plan({ holdings, targets: weights({ BTC: '0.5', ETH: '0.3', SOL: '0.2' }), prices: new Map([['SOL', new Dec('100')]]), minNotional: new Dec('5000') });
    expect(orders(result)).toEqual([
      ['SELL', 'ETH/USDT', '2.5', '5000'],
      ['BUY', 'SOL/USDT', '100', '10000'],
    ]);
    expect(result.skipped.map((skip) => [skip.asset, skip.reason, skip.notional?.toFixed()])).toEqual([['BTC', 'BELOW_MIN_NOTIONAL', '4999.9998']]);
  });

  it('sells the whole of a held asset without a target, and keeps a cash target unspent', () => {
    const result = plan({ holdings: [held('BTC', '0.123456789', '30000'), held('ETH', '10', '2000')], targets: weights({ ETH: '0.5', USDT: '0.5' }) });
    // Total 23703.70367; ETH target 11851.851835 → sell 4.07407408 of 10 (rounded down); BTC sold out exactly.
    expect(orders(result)).toEqual([
      ['SELL', 'ETH/USDT', '4.07407408', '8148.14816'],
      ['SELL', 'BTC/USDT', '0.123456789', '3703.70367'],
    ]);
  });

  it('reports assets it cannot price and plans nothing without targets', () => {
    const result = plan({ holdings, targets: weights({ BTC: '0.4', ETH: '0.4', DOGE: '0.2' }) });
    expect(result.skipped).toEqual([{ asset: 'DOGE', symbol: 'DOGE/USDT', reason: 'NO_PRICE', notional: null }]);
    expect(orders(result)).toEqual([['SELL', 'BTC/USDT', '0.33333333', '9999.9999']]);
    expect(plan({ holdings, targets: [] }).orders).toEqual([]);
  });

  it('plans nothing for a portfolio already on target', () => {
    const result = plan({ holdings, targets: weights({ BTC: '0.6', ETH: '0.4' }) });
    expect(result.orders).toEqual([]);
    expect(result.skipped).toEqual([]);
  });
});

describe('normalizeTargets', () => {
  it('takes fractions summing to 1 and percentages summing to 100', () => {
    expect(normalizeTargets([{ asset: 'BTC', weight: '0.6' }, { asset: 'ETH', weight: '0.4' }]).map((t) => [t.asset, t.weight.toFixed()])).toEqual([
      ['BTC', '0.6'],
      ['ETH', '0.4'],
    ]);
    expect(normalizeTargets([{ asset: 'BTC', weight: '62.5' }, { asset: 'USDT', weight: '37.5' }]).map((t) => [t.asset, t.weight.toFixed()])).toEqual([
      ['BTC', '0.625'],
      ['USDT', '0.375'],
    ]);
    expect(normalizeTargets([])).toEqual([]);
  });

  it('refuses weights that sum to anything else, and repeated assets', () => {
    expect(() => normalizeTargets([{ asset: 'BTC', weight: '0.6' }, { asset: 'ETH', weight: '0.3' }])).toThrow('weights must sum to 1 (or 100 for percentages), got 0.9');
    expect(() => normalizeTargets([{ asset: 'BTC', weight: '0.5' }, { asset: 'BTC', weight: '0.5' }])).toThrow('asset BTC appears twice');
  });
});
