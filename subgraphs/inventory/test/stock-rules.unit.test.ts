import { availableOf } from '../src/stock/stock-level.entity';
import { crossesIntoLowStock } from '../src/stock/stock.events';
import { assertAdjustment } from '../src/stock/stock.service';

describe('low-stock crossing', () => {
  it('fires only when availability goes from above the threshold to at or below it', () => {
    expect(crossesIntoLowStock(11, 10, 10)).toBe(true);
    expect(crossesIntoLowStock(20, 0, 10)).toBe(true);
    expect(crossesIntoLowStock(10, 9, 10)).toBe(false); // already low: no repeat
    expect(crossesIntoLowStock(5, 12, 10)).toBe(false); // back above: re-armed, nothing to report
    expect(crossesIntoLowStock(12, 11, 10)).toBe(false);
    expect(crossesIntoLowStock(0, 0, 0)).toBe(false);
    expect(crossesIntoLowStock(1, 0, 0)).toBe(true);
  });
});

describe('availability', () => {
  it('is on hand minus reserved, never negative', () => {
    expect(availableOf({ onHand: 10, reserved: 4 })).toBe(6);
    expect(availableOf({ onHand: 3, reserved: 5 })).toBe(0);
  });
});

describe('adjustment rules', () => {
  const valid = { productId: 'p-1', delta: 5, reason: 'restock' };

  it('accepts a valid adjustment and the limits', () => {
    expect(() => assertAdjustment(valid)).not.toThrow();
    expect(() => assertAdjustment({ ...valid, delta: -1_000_000, reason: 'r'.repeat(500) })).not.toThrow();
  });

  it.each([
    ['delta 0', { delta: 0 }, 'delta'],
    ['delta over 1,000,000', { delta: 1_000_001 }, 'delta'],
    ['a fractional delta', { delta: 1.5 }, 'delta'],
    ['an empty reason', { reason: '' }, 'reason'],
    ['a blank reason', { reason: ' \t ' }, 'reason'],
    ['a reason over 500 characters', { reason: 'r'.repeat(501) }, 'reason'],
    ['an empty product id', { productId: '' }, 'productId'],
  ])('refuses %s with BAD_USER_INPUT', (_name, change, field) => {
    let error: unknown;
    try {
      assertAdjustment({ ...valid, ...change });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field } });
  });
});
