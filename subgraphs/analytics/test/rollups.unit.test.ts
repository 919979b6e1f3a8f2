import { percentOf } from '../src/kpi/kpi.service';
import { allocateRevenue } from '../src/sales/allocation';
import { roundHalfUp, salesFiguresOf } from '../src/sales/sales-report';
import { toMoney } from '../src/shared/money';
import { fillFigures } from '../src/trading/fill-figures';
import { addDays, daysBetween, hourOf, last24HoursStart } from '../src/shared/time';

describe('allocateRevenue', () => {
  const total = (sales: { revenue: bigint }[]) => sales.reduce((sum, sale) => sum + sale.revenue, 0n);

  it('gives each product quantity × list price when that is what was paid', () => {
    const sales = allocateRevenue(2n * 12_900n + 4_900n, [
      { productId: 'wallet', quantity: 2, unitPrice: 12_900n },
      { productId: 'indicator', quantity: 1, unitPrice: 4_900n },
    ]);
    expect(sales).toEqual([
      { productId: 'wallet', units: 2, revenue: 25_800n },
      { productId: 'indicator', units: 1, revenue: 4_900n },
    ]);
  });

  it('splits a paid amount that differs from the list prices in proportion, adding up exactly', () => {
    const sales = allocateRevenue(1_000n, [
      { productId: 'a', quantity: 1, unitPrice: 300n },
      { productId: 'b', quantity: 1, unitPrice: 300n },
      { productId: 'c', quantity: 1, unitPrice: 300n },
    ]);
    // 333.33 each: the leftover unit goes to the first of the equal remainders.
    expect(sales.map((sale) => sale.revenue)).toEqual([334n, 333n, 333n]);
    expect(total(sales)).toBe(1_000n);
  });

  it('hands leftover units to the largest remainders', () => {
    const sales = allocateRevenue(100n, [
      { productId: 'a', quantity: 1, unitPrice: 1n },
      { productId: 'b', quantity: 2, unitPrice: 1n },
    ]);
    // 33.33 and 66.67: the larger fraction takes the unit.
    expect(sales.map((sale) => sale.revenue)).toEqual([33n, 67n]);
  });

  it('merges repeated products', () => {
    const sales = allocateRevenue(500n, [
      { productId: 'a', quantity: 1, unitPrice: 100n },
      { productId: 'b', quantity: 1, unitPrice: 200n },
      { productId: 'a', quantity: 2, unitPrice: 100n },
    ]);
    expect(sales).toEqual([
      { productId: 'a', units: 3, revenue: 300n },
      { productId: 'b', units: 1, revenue: 200n },
    ]);
  });

  it('splits by quantity when a price is unknown or every price is 0', () => {
    expect(allocateRevenue(900n, [
      { productId: 'a', quantity: 2, unitPrice: 500n },
      { productId: 'b', quantity: 1, unitPrice: null },
    ]).map((sale) => sale.revenue)).toEqual([600n, 300n]);
    expect(allocateRevenue(10n, [
      { productId: 'a', quantity: 1, unitPrice: 0n },
      { productId: 'b', quantity: 1, unitPrice: 0n },
    ]).map((sale) => sale.revenue)).toEqual([5n, 5n]);
  });

  it('counts units without revenue for a free order', () => {
    expect(allocateRevenue(0n, [{ productId: 'a', quantity: 4, unitPrice: 0n }])).toEqual([{ productId: 'a', units: 4, revenue: 0n }]);
  });

  it('stays exact beyond float precision', () => {
    const paid = 9_007_199_254_740_993n;
    const sales = allocateRevenue(paid, [
      { productId: 'a', quantity: 1, unitPrice: 1n },
      { productId: 'b', quantity: 1, unitPrice: 2n },
    ]);
    expect(total(sales)).toBe(paid);
    expect(sales[1]!.revenue).toBe(6_004_799_503_160_662n);
  });
});

describe('salesFiguresOf', () => {
  it('totals the range and fills the days without sales with zeros', () => {
    const figures = salesFiguresOf('USD', '2024-02-28', '2024-03-02', [
      { day: '2024-02-28', orders: 2, revenue: 3_000n, refunds: 0n },
      { day: '2024-03-01', orders: 1, revenue: 1_001n, refunds: 500n },
    ]);
    expect(figures).toMatchObject({ currency: 'USD', from: '2024-02-28', to: '2024-03-02', orders: 3, revenue: 4_001n, refunds: 500n, net: 3_501n });
    // 4001 / 3 = 1333.67 → 1334.
    expect(figures.averageOrderValue).toBe(1_334n);
    expect(figures.days).toEqual([
      { day: '2024-02-28', orders: 2, revenue: 3_000n, refunds: 0n, net: 3_000n },
      { day: '2024-02-29', orders: 0, revenue: 0n, refunds: 0n, net: 0n },
      { day: '2024-03-01', orders: 1, revenue: 1_001n, refunds: 500n, net: 501n },
      { day: '2024-03-02', orders: 0, revenue: 0n, refunds: 0n, net: 0n },
    ]);
  });

  it('has no average order value without orders, and a negative net when refunds exceed revenue', () => {
    const figures = salesFiguresOf('EUR', '2024-01-01', '2024-01-01', [{ day: '2024-01-01', orders: 0, revenue: 0n, refunds: 700n }]);
    expect(figures).toMatchObject({ orders: 0, averageOrderValue: null, net: -700n });
  });

  it('rounds half up', () => {
    expect(roundHalfUp(5n, 2n)).toBe(3n);
    expect(roundHalfUp(4n, 3n)).toBe(1n);
    expect(roundHalfUp(-5n, 2n)).toBe(-3n);
  });
});

describe('fillFigures', () => {
  it('takes volume as quantity × price and a quote fee as is, exactly', () => {
    expect(fillFigures({ base: 'BTC', quote: 'USDT', quantity: '0.00123', price: '67250.01', fee: '0.0827', feeCurrency: 'USDT' })).toEqual({
      volume: '82.7175123',
      fees: '0.0827',
      feeCounted: true,
    });
  });

  it('values a fee charged in the base asset at the fill price', () => {
    expect(fillFigures({ base: 'ETH', quote: 'USDT', quantity: '2', price: '3480.5', fee: '0.002', feeCurrency: 'ETH' })).toEqual({ volume: '6961', fees: '6.961', feeCounted: true });
  });

  it('leaves out a fee in a third currency and says so', () => {
    expect(fillFigures({ base: 'SOL', quote: 'USDT', quantity: '10', price: '168.5', fee: '0.01', feeCurrency: 'BNB' })).toEqual({ volume: '1685', fees: '0', feeCounted: false });
    expect(fillFigures({ base: 'SOL', quote: 'USDT', quantity: '10', price: '168.5', fee: '0', feeCurrency: 'BNB' }).feeCounted).toBe(true);
  });

  it('keeps every digit of large amounts', () => {
    const figures = fillFigures({ base: 'X', quote: 'USDT', quantity: '123456789012345678901234567890.123456789012345678', price: '0.000000000000000001', fee: '0', feeCurrency: 'USDT' });
    expect(figures.volume).toBe('123456789012.345678901234567890123456789012345678');
  });
});

describe('KPI and calendar helpers', () => {
  it('gives percentages with two decimals, null for nothing', () => {
    expect(percentOf(2, 3)).toBe('66.67');
    expect(percentOf(0, 4)).toBe('0.00');
    expect(percentOf(0, 0)).toBeNull();
  });

  it('walks UTC days across month and leap-year ends', () => {
    expect(daysBetween('2024-02-28', '2024-03-01')).toEqual(['2024-02-28', '2024-02-29', '2024-03-01']);
    expect(daysBetween('2024-03-02', '2024-03-01')).toEqual([]);
    expect(addDays('2024-01-01', -29)).toBe('2023-12-03');
  });

  it('buckets fills by UTC hour and starts the rolling 24 h 23 hours before the current one', () => {
    const now = new Date('2024-05-05T10:42:13.500Z');
    expect(hourOf(now).toISOString()).toBe('2024-05-05T10:00:00.000Z');
    expect(last24HoursStart(now).toISOString()).toBe('2024-05-04T11:00:00.000Z');
  });
});

describe('toMoney', () => {
  it('turns Postgres sums into Money and refuses what a GraphQL Int cannot carry', () => {
    expect(toMoney('2147483647', 'USD')).toEqual({ amount: 2_147_483_647, currency: 'USD' });
    expect(toMoney(-500n, 'EUR')).toEqual({ amount: -500, currency: 'EUR' });
    expect(() => toMoney('2147483648', 'USD')).toThrow(expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } }));
  });
});
