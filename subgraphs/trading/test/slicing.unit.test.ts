import { Decimal } from 'decimal.js';
import { MAX_TWAP_SLICES, nextIcebergClip, ocoLegs, planTwap, roundToStep, SlicingError, validateTwap, type TwapInput } from '../src/orders/slicing';
import { validateTriggerSpec } from '../src/orders/triggers';

const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);
const sum = (quantities: string[]): string => quantities.reduce((total, quantity) => total.plus(quantity), new Decimal(0)).toFixed();

describe('roundToStep', () => {
  it('rounds down to the step, never up', () => {
    expect(roundToStep('1.23456', '0.001')).toBe('1.234');
    expect(roundToStep('1.2349999', '0.001')).toBe('1.234');
    expect(roundToStep('7', '0.5')).toBe('7');
    expect(roundToStep('7.49', '0.5')).toBe('7');
    expect(roundToStep('12.5', '5')).toBe('10');
    expect(roundToStep('0.0009', '0.001')).toBe('0');
  });

  it('returns the input untouched without a step', () => {
    expect(roundToStep('1.2300', null)).toBe('1.2300');
    expect(roundToStep('5', undefined)).toBe('5');
  });

  it('stays exact for long quantities and tiny steps', () => {
    expect(roundToStep('123456789012345678.123456789123', '0.000000001')).toBe('123456789012345678.123456789');
  });

  it('throws SlicingError on a bad quantity or step', () => {
    expect(() => roundToStep('abc', '0.1')).toThrow(SlicingError);
    expect(() => roundToStep('1', '0')).toThrow(/step must be greater than 0/);
    expect(() => roundToStep('-1', '0.1')).toThrow(RangeError);
  });
});

describe('planTwap', () => {
  it('splits evenly when the quantity divides, at evenly spaced times from startAt', () => {
    expect(planTwap({ quantity: '1.2', slices: 4, durationMs: 60_000, startAt: T0, step: '0.1' })).toEqual([
      { index: 0, at: T0, quantity: '0.3' },
      { index: 1, at: T0 + 15_000, quantity: '0.3' },
      { index: 2, at: T0 + 30_000, quantity: '0.3' },
      { index: 3, at: T0 + 45_000, quantity: '0.3' },
    ]);
  });

  it('rounds slices down to the step and puts the remainder on the last', () => {
    const plan = planTwap({ quantity: '1', slices: 3, durationMs: 90_000, startAt: T0, step: '0.001' });
    expect(plan.map((slice) => slice.quantity)).toEqual(['0.333', '0.333', '0.334']);
    expect(sum(plan.map((slice) => slice.quantity))).toBe('1');
    expect(plan.map((slice) => slice.at)).toEqual([T0, T0 + 30_000, T0 + 60_000]);
  });

  it('cuts at 8 decimals (or the quantity’s own) without a step', () => {
    expect(planTwap({ quantity: '1', slices: 3, durationMs: 0, startAt: T0 }).map((slice) => slice.quantity)).toEqual(['0.33333333', '0.33333333', '0.33333334']);
    expect(planTwap({ quantity: '0.0000000001', slices: 1, durationMs: 0, startAt: T0, step: null })).toEqual([{ index: 0, at: T0, quantity: '0.0000000001' }]);
    expect(planTwap({ quantity: '0.0000000010', slices: 2, durationMs: 0, startAt: T0 }).map((slice) => slice.quantity)).toEqual(['0.0000000005', '0.0000000005']);
  });

  it('always sums exactly to the quantity, every slice positive and on the step but the last', () => {
    const cases: TwapInput[] = [
      { quantity: '10', slices: 7, durationMs: 3_600_000, startAt: T0, step: '0.01' },
      { quantity: '0.98765', slices: 13, durationMs: 1_000, startAt: T0, step: '0.00001' },
      { quantity: '123456.789', slices: 1000, durationMs: 86_400_000, startAt: T0, step: '0.1' },
      { quantity: '5', slices: 1, durationMs: 60_000, startAt: T0, step: '1' },
    ];
    for (const input of cases) {
      const plan = planTwap(input);
      expect(plan).toHaveLength(input.slices);
      expect(sum(plan.map((slice) => slice.quantity))).toBe(new Decimal(input.quantity).toFixed());
      for (const slice of plan) expect(new Decimal(slice.quantity).gt(0)).toBe(true);
      for (const slice of plan.slice(0, -1)) expect(new Decimal(slice.quantity).mod(input.step!).isZero()).toBe(true);
      expect(plan.map((slice) => slice.index)).toEqual(Array.from({ length: input.slices }, (_, i) => i));
    }
  });

  it('spaces times in whole milliseconds, increasing, all within the duration', () => {
    const plan = planTwap({ quantity: '1', slices: 3, durationMs: 1_000, startAt: T0, step: '0.01' });
    expect(plan.map((slice) => slice.at - T0)).toEqual([0, 333, 666]);
    const long = planTwap({ quantity: '1000', slices: 1000, durationMs: 999, startAt: T0, step: '1' });
    for (let i = 1; i < long.length; i += 1) expect(long[i]!.at).toBeGreaterThanOrEqual(long[i - 1]!.at);
    expect(long.at(-1)!.at).toBeLessThan(T0 + 999);
  });

  it('runs every slice at startAt when the duration is 0', () => {
    expect(planTwap({ quantity: '3', slices: 3, durationMs: 0, startAt: T0, step: '1' }).map((slice) => slice.at)).toEqual([T0, T0, T0]);
  });

  it.each<[string, TwapInput, RegExp]>([
    ['zero slices', { quantity: '1', slices: 0, durationMs: 0, startAt: T0 }, /slices must be a whole number from 1 to 1000/],
    ['too many slices', { quantity: '1', slices: MAX_TWAP_SLICES + 1, durationMs: 0, startAt: T0 }, /slices must be a whole number/],
    ['fractional slices', { quantity: '1', slices: 2.5, durationMs: 0, startAt: T0 }, /slices must be a whole number/],
    ['negative duration', { quantity: '1', slices: 2, durationMs: -1, startAt: T0 }, /durationMs must be a whole number/],
    ['infinite duration', { quantity: '1', slices: 2, durationMs: Infinity, startAt: T0 }, /durationMs/],
    ['bad start', { quantity: '1', slices: 2, durationMs: 0, startAt: Number.NaN }, /startAt/],
    ['zero quantity', { quantity: '0', slices: 2, durationMs: 0, startAt: T0 }, /quantity must be greater than 0/],
    ['float quantity', { quantity: 1 as unknown as string, slices: 2, durationMs: 0, startAt: T0 }, /quantity must be a decimal string/],
    ['zero step', { quantity: '1', slices: 2, durationMs: 0, startAt: T0, step: '0' }, /step must be greater than 0/],
    ['slices rounding to 0', { quantity: '0.005', slices: 10, durationMs: 0, startAt: T0, step: '0.001' }, /quantity 0.005 is too small for 10 slices.*step 0.001/],
  ])('refuses %s with a SlicingError', (_name, input, reason) => {
    expect(validateTwap(input)).toMatch(reason);
    expect(() => planTwap(input)).toThrow(SlicingError);
    expect(() => planTwap(input)).toThrow(reason);
  });

  it('validateTwap accepts what planTwap plans', () => {
    expect(validateTwap({ quantity: '0.01', slices: 10, durationMs: 0, startAt: T0, step: '0.001' })).toBeNull();
  });
});

describe('nextIcebergClip', () => {
  it('shows the visible quantity until less than that remains, then the remainder', () => {
    const clips: string[] = [];
    let filled = new Decimal(0);
    for (;;) {
      const clip = nextIcebergClip({ total: '10', visible: '3', filled: filled.toFixed(), step: '0.5' });
      if (clip === '0') break;
      clips.push(clip);
      filled = filled.plus(clip);
    }
    expect(clips).toEqual(['3', '3', '3', '1']);
  });

  it('counts partial fills and rounds the clip down to the step', () => {
    expect(nextIcebergClip({ total: '10', visible: '3', filled: '8.25', step: '0.5' })).toBe('1.5');
    expect(nextIcebergClip({ total: '10', visible: '3', filled: '1.3' })).toBe('3');
    expect(nextIcebergClip({ total: '10', visible: '3', filled: '8.3', step: null })).toBe('1.7');
  });

  it('is done (0) when filled, overfilled, or only dust below one step remains', () => {
    expect(nextIcebergClip({ total: '10', visible: '3', filled: '10' })).toBe('0');
    expect(nextIcebergClip({ total: '10', visible: '3', filled: '10.5' })).toBe('0');
    expect(nextIcebergClip({ total: '10', visible: '3', filled: '9.95', step: '0.1' })).toBe('0');
  });

  it('throws SlicingError on bad input, including a visible quantity below one step', () => {
    expect(() => nextIcebergClip({ total: '10', visible: '0', filled: '0' })).toThrow(/visible must be greater than 0/);
    expect(() => nextIcebergClip({ total: '0', visible: '1', filled: '0' })).toThrow(SlicingError);
    expect(() => nextIcebergClip({ total: '10', visible: '1', filled: '-1' })).toThrow(/filled must be a decimal/);
    expect(() => nextIcebergClip({ total: '10', visible: '0.05', filled: '0', step: '0.1' })).toThrow(/visible 0.05 is smaller than one step/);
  });
});

describe('ocoLegs', () => {
  it('gives a BUY parent SELL legs: take-profit above, stop-loss below the entry', () => {
    const result = ocoLegs({ parentSide: 'BUY', quantity: '0.5', entryPrice: '100', takeProfit: '120', stopLoss: '90' });
    expect(result).toEqual({
      legs: [
        { role: 'TAKE_PROFIT', spec: { type: 'TAKE_PROFIT', side: 'SELL', triggerPrice: '120' }, quantity: '0.5' },
        { role: 'STOP_LOSS', spec: { type: 'STOP_MARKET', side: 'SELL', stopPrice: '90' }, quantity: '0.5' },
      ],
    });
    if ('legs' in result) for (const leg of result.legs) expect(validateTriggerSpec(leg.spec)).toBeNull();
  });

  it('mirrors for a SELL parent: BUY legs, take-profit below, stop-loss above', () => {
    expect(ocoLegs({ parentSide: 'SELL', quantity: '2', entryPrice: '100', takeProfit: '80', stopLoss: '105' })).toEqual({
      legs: [
        { role: 'TAKE_PROFIT', spec: { type: 'TAKE_PROFIT', side: 'BUY', triggerPrice: '80' }, quantity: '2' },
        { role: 'STOP_LOSS', spec: { type: 'STOP_MARKET', side: 'BUY', stopPrice: '105' }, quantity: '2' },
      ],
    });
  });

  it('places only the legs given', () => {
    expect(ocoLegs({ parentSide: 'BUY', quantity: '1', entryPrice: '100', stopLoss: '95' })).toEqual({
      legs: [{ role: 'STOP_LOSS', spec: { type: 'STOP_MARKET', side: 'SELL', stopPrice: '95' }, quantity: '1' }],
    });
    expect(ocoLegs({ parentSide: 'SELL', quantity: '1', entryPrice: '100', takeProfit: '90', stopLoss: null })).toEqual({
      legs: [{ role: 'TAKE_PROFIT', spec: { type: 'TAKE_PROFIT', side: 'BUY', triggerPrice: '90' }, quantity: '1' }],
    });
    expect(ocoLegs({ parentSide: 'BUY', quantity: '1', entryPrice: '100' })).toEqual({ legs: [] });
  });

  it.each<[string, Parameters<typeof ocoLegs>[0], RegExp]>([
    ['BUY take-profit below entry', { parentSide: 'BUY', quantity: '1', entryPrice: '100', takeProfit: '99' }, /takeProfit must be above the entry price 100 for a BUY/],
    ['BUY take-profit at entry', { parentSide: 'BUY', quantity: '1', entryPrice: '100', takeProfit: '100.00' }, /takeProfit must be above/],
    ['BUY stop-loss above entry', { parentSide: 'BUY', quantity: '1', entryPrice: '100', takeProfit: '110', stopLoss: '101' }, /stopLoss must be below the entry price 100 for a BUY/],
    ['SELL take-profit above entry', { parentSide: 'SELL', quantity: '1', entryPrice: '100', takeProfit: '101' }, /takeProfit must be below the entry price 100 for a SELL/],
    ['SELL stop-loss at entry', { parentSide: 'SELL', quantity: '1', entryPrice: '100', stopLoss: '100' }, /stopLoss must be above/],
    ['zero quantity', { parentSide: 'BUY', quantity: '0', entryPrice: '100', takeProfit: '110' }, /quantity must be greater than 0/],
    ['bad entry', { parentSide: 'BUY', quantity: '1', entryPrice: 'market', takeProfit: '110' }, /entryPrice must be a decimal/],
    ['bad stop-loss', { parentSide: 'BUY', quantity: '1', entryPrice: '100', stopLoss: '0' }, /stopLoss must be greater than 0/],
    ['bad side', { parentSide: 'LONG' as 'BUY', quantity: '1', entryPrice: '100' }, /parentSide must be BUY or SELL/],
  ])('refuses %s', (_name, input, reason) => {
    const result = ocoLegs(input);
    expect('error' in result && result.error).toMatch(reason);
  });
});
