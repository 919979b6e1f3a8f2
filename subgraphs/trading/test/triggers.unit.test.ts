import { Decimal } from 'decimal.js';
import {
  initialTriggerState,
  limitIsMarketable,
  onPrice,
  triggerLevel,
  TriggerBook,
  validateTriggerSpec,
  type TriggerFire,
  type TriggerSpec,
  type TriggerState,
} from '../src/orders/triggers';

interface Walk {
  /** Index in the path of the price that fired, or null. */
  firedAt: number | null;
  fire: TriggerFire | null;
  /** State after each price up to and including the one that fired. */
  states: TriggerState[];
}

/** Feeds a scripted price path to one order until it fires. */
function walk(spec: TriggerSpec, path: string[], start: string | null = null): Walk {
  let state = initialTriggerState(spec, start);
  const states: TriggerState[] = [];
  for (const [index, price] of path.entries()) {
    const result = onPrice(spec, state, price);
    state = result.state;
    states.push(state);
    if (result.fire) return { firedAt: index, fire: result.fire, states };
  }
  return { firedAt: null, fire: null, states };
}

describe('validateTriggerSpec', () => {
  it('accepts every well-formed type', () => {
    const specs: TriggerSpec[] = [
      { type: 'LIMIT', side: 'BUY', limitPrice: '100.5' },
      { type: 'STOP_MARKET', side: 'SELL', stopPrice: '90' },
      { type: 'STOP_LIMIT', side: 'BUY', stopPrice: '110', limitPrice: '111' },
      { type: 'TAKE_PROFIT', side: 'SELL', triggerPrice: '120' },
      { type: 'TAKE_PROFIT', side: 'BUY', triggerPrice: '80', limitPrice: '80.5' },
      { type: 'TRAILING_STOP', side: 'SELL', trailingPercent: '2.5' },
      { type: 'TRAILING_STOP', side: 'BUY', trailingAmount: '10', activationPrice: '95' },
    ];
    for (const spec of specs) expect(validateTriggerSpec(spec)).toBeNull();
  });

  it.each<[string, TriggerSpec, RegExp]>([
    ['zero limit', { type: 'LIMIT', side: 'BUY', limitPrice: '0' }, /limitPrice must be greater than 0/],
    ['negative stop', { type: 'STOP_MARKET', side: 'SELL', stopPrice: '-1' }, /stopPrice must be a decimal/],
    ['exponent notation', { type: 'STOP_MARKET', side: 'SELL', stopPrice: '1e5' }, /stopPrice must be a decimal/],
    ['not a number', { type: 'STOP_LIMIT', side: 'BUY', stopPrice: '10', limitPrice: 'NaN' }, /limitPrice must be a decimal/],
    ['missing stop-limit limit', { type: 'STOP_LIMIT', side: 'BUY', stopPrice: '10' } as unknown as TriggerSpec, /limitPrice/],
    ['take-profit zero limit', { type: 'TAKE_PROFIT', side: 'SELL', triggerPrice: '10', limitPrice: '0.0' }, /limitPrice must be greater than 0/],
    ['trailing with neither', { type: 'TRAILING_STOP', side: 'SELL' }, /exactly one of trailingPercent and trailingAmount/],
    ['trailing with both', { type: 'TRAILING_STOP', side: 'SELL', trailingPercent: '1', trailingAmount: '5' }, /exactly one/],
    ['percent of 100', { type: 'TRAILING_STOP', side: 'SELL', trailingPercent: '100' }, /trailingPercent must be below 100/],
    ['percent of 0', { type: 'TRAILING_STOP', side: 'BUY', trailingPercent: '0' }, /trailingPercent must be greater than 0/],
    ['amount of 0', { type: 'TRAILING_STOP', side: 'BUY', trailingAmount: '0' }, /trailingAmount must be greater than 0/],
    ['bad activation', { type: 'TRAILING_STOP', side: 'BUY', trailingAmount: '1', activationPrice: 'abc' }, /activationPrice/],
    ['bad side', { type: 'LIMIT', side: 'HOLD', limitPrice: '1' } as unknown as TriggerSpec, /side must be BUY or SELL/],
    ['unknown type', { type: 'OCO', side: 'BUY' } as unknown as TriggerSpec, /unknown trigger type OCO/],
  ])('rejects %s', (_name, spec, reason) => {
    expect(validateTriggerSpec(spec)).toMatch(reason);
  });

  it('treats null trailing fields as absent (GraphQL inputs)', () => {
    const spec = { type: 'TRAILING_STOP', side: 'SELL', trailingPercent: null, trailingAmount: '3', activationPrice: null } as unknown as TriggerSpec;
    expect(validateTriggerSpec(spec)).toBeNull();
  });
});

describe('limitIsMarketable', () => {
  it('lets a BUY fill at or below its limit and a SELL at or above', () => {
    expect(limitIsMarketable('BUY', '100', '99.99')).toBe(true);
    expect(limitIsMarketable('BUY', '100', '100.00')).toBe(true);
    expect(limitIsMarketable('BUY', '100', '100.01')).toBe(false);
    expect(limitIsMarketable('SELL', '100', '100.01')).toBe(true);
    expect(limitIsMarketable('SELL', '100', '100')).toBe(true);
    expect(limitIsMarketable('SELL', '100', '99.99')).toBe(false);
  });

  it('compares decimals exactly, not as floats', () => {
    expect(limitIsMarketable('BUY', '0.30000000000000000001', '0.3')).toBe(true);
    expect(limitIsMarketable('SELL', '0.30000000000000000001', '0.3')).toBe(false);
  });
});

describe('initialTriggerState', () => {
  it('carries the fixed level of stops and take-profits, none for a limit', () => {
    expect(initialTriggerState({ type: 'LIMIT', side: 'BUY', limitPrice: '10' }, '11')).toEqual({ extreme: null, activated: true, stopPrice: null });
    expect(initialTriggerState({ type: 'STOP_MARKET', side: 'BUY', stopPrice: '12' }, null)).toEqual({ extreme: null, activated: true, stopPrice: '12' });
    expect(initialTriggerState({ type: 'STOP_LIMIT', side: 'SELL', stopPrice: '9', limitPrice: '8.9' }, '10')).toEqual({ extreme: null, activated: true, stopPrice: '9' });
    expect(initialTriggerState({ type: 'TAKE_PROFIT', side: 'SELL', triggerPrice: '15' }, '10')).toEqual({ extreme: null, activated: true, stopPrice: '15' });
  });

  it('starts a trailing stop at the current price, or waits for its first price or activation', () => {
    expect(initialTriggerState({ type: 'TRAILING_STOP', side: 'SELL', trailingPercent: '5' }, '200')).toEqual({ extreme: '200', activated: true, stopPrice: '190' });
    expect(initialTriggerState({ type: 'TRAILING_STOP', side: 'BUY', trailingAmount: '3' }, '50')).toEqual({ extreme: '50', activated: true, stopPrice: '53' });
    expect(initialTriggerState({ type: 'TRAILING_STOP', side: 'SELL', trailingPercent: '5' }, null)).toEqual({ extreme: null, activated: true, stopPrice: null });
    expect(initialTriggerState({ type: 'TRAILING_STOP', side: 'SELL', trailingPercent: '5', activationPrice: '220' }, '200')).toEqual({
      extreme: null,
      activated: false,
      stopPrice: null,
    });
    expect(initialTriggerState({ type: 'TRAILING_STOP', side: 'SELL', trailingPercent: '5', activationPrice: '220' }, '230')).toEqual({
      extreme: '230',
      activated: true,
      stopPrice: '218.5',
    });
  });

  it('throws a RangeError on an invalid spec or price', () => {
    expect(() => initialTriggerState({ type: 'STOP_MARKET', side: 'BUY', stopPrice: '0' }, null)).toThrow(RangeError);
    expect(() => initialTriggerState({ type: 'TRAILING_STOP', side: 'BUY', trailingAmount: '1' }, 'cheap')).toThrow(/price must be a decimal/);
  });
});

describe('onPrice by type', () => {
  it('LIMIT BUY fires once the price falls to the limit', () => {
    const result = walk({ type: 'LIMIT', side: 'BUY', limitPrice: '100' }, ['105', '101', '100.01', '100', '99']);
    expect(result.firedAt).toBe(3);
    expect(result.fire).toEqual({ kind: 'LIMIT', limitPrice: '100', stopPrice: null });
  });

  it('LIMIT SELL fires once the price rises to the limit', () => {
    const result = walk({ type: 'LIMIT', side: 'SELL', limitPrice: '100' }, ['95', '99.99', '100.5']);
    expect(result.firedAt).toBe(2);
    expect(result.fire).toEqual({ kind: 'LIMIT', limitPrice: '100', stopPrice: null });
  });

  it('STOP_MARKET BUY fires a market order when the price rises to the stop (touch included)', () => {
    const spec: TriggerSpec = { type: 'STOP_MARKET', side: 'BUY', stopPrice: '110' };
    expect(walk(spec, ['100', '105', '109.99', '110', '120']).firedAt).toBe(3);
    expect(walk(spec, ['100', '111']).fire).toEqual({ kind: 'MARKET', stopPrice: '110' });
    expect(walk(spec, ['100', '90', '109.999']).firedAt).toBeNull();
  });

  it('STOP_MARKET SELL fires when the price falls to the stop and ignores rises', () => {
    const spec: TriggerSpec = { type: 'STOP_MARKET', side: 'SELL', stopPrice: '90' };
    const result = walk(spec, ['100', '120', '95', '90.01', '89.5']);
    expect(result.firedAt).toBe(4);
    expect(result.fire).toEqual({ kind: 'MARKET', stopPrice: '90' });
    expect(walk(spec, ['100', '90.0']).firedAt).toBe(1);
  });

  it('a stop placed past the price fires on the first price it sees', () => {
    expect(walk({ type: 'STOP_MARKET', side: 'BUY', stopPrice: '90' }, ['100']).firedAt).toBe(0);
    expect(triggerLevel({ type: 'STOP_MARKET', side: 'BUY', stopPrice: '90' })).toEqual({ level: '90', direction: 'UP' });
  });

  it('STOP_LIMIT fires a limit order at its limit price once the stop is reached', () => {
    const buy = walk({ type: 'STOP_LIMIT', side: 'BUY', stopPrice: '110', limitPrice: '111' }, ['100', '109', '110.5']);
    expect(buy.firedAt).toBe(2);
    expect(buy.fire).toEqual({ kind: 'LIMIT', limitPrice: '111', stopPrice: '110' });
    const sell = walk({ type: 'STOP_LIMIT', side: 'SELL', stopPrice: '90', limitPrice: '89' }, ['100', '91', '90']);
    expect(sell.firedAt).toBe(2);
    expect(sell.fire).toEqual({ kind: 'LIMIT', limitPrice: '89', stopPrice: '90' });
  });

  it('TAKE_PROFIT SELL fires a market order when the price rises to the trigger', () => {
    const result = walk({ type: 'TAKE_PROFIT', side: 'SELL', triggerPrice: '120' }, ['100', '90', '119.99', '120']);
    expect(result.firedAt).toBe(3);
    expect(result.fire).toEqual({ kind: 'MARKET', stopPrice: '120' });
  });

  it('TAKE_PROFIT BUY fires a limit order when the price falls to the trigger and a limit is given', () => {
    const spec: TriggerSpec = { type: 'TAKE_PROFIT', side: 'BUY', triggerPrice: '80', limitPrice: '80.5' };
    const result = walk(spec, ['100', '110', '80.01', '79']);
    expect(result.firedAt).toBe(3);
    expect(result.fire).toEqual({ kind: 'LIMIT', limitPrice: '80.5', stopPrice: '80' });
    expect(walk(spec, ['100', '120']).firedAt).toBeNull();
  });

  it('leaves the state of fixed-level orders untouched (same object)', () => {
    const spec: TriggerSpec = { type: 'STOP_MARKET', side: 'SELL', stopPrice: '90' };
    const state = initialTriggerState(spec, '100');
    expect(onPrice(spec, state, '95').state).toBe(state);
    expect(onPrice(spec, state, '80').state).toBe(state);
  });
});

describe('TRAILING_STOP', () => {
  it('SELL by percent trails the highest price and fires when the price falls to the stop', () => {
    const spec: TriggerSpec = { type: 'TRAILING_STOP', side: 'SELL', trailingPercent: '10' };
    const result = walk(spec, ['100', '105', '120', '115', '110', '108.5', '108']);
    expect(result.states.map((state) => [state.extreme, state.stopPrice])).toEqual([
      ['100', '90'],
      ['105', '94.5'],
      ['120', '108'],
      ['120', '108'],
      ['120', '108'],
      ['120', '108'],
      ['120', '108'],
    ]);
    expect(result.firedAt).toBe(6);
    expect(result.fire).toEqual({ kind: 'MARKET', stopPrice: '108' });
  });

  it('SELL by amount trails the high by a fixed distance', () => {
    const spec: TriggerSpec = { type: 'TRAILING_STOP', side: 'SELL', trailingAmount: '2.5' };
    const result = walk(spec, ['50', '51', '53.25', '52', '50.76', '50.75'], '50');
    expect(result.states.map((state) => state.stopPrice)).toEqual(['47.5', '48.5', '50.75', '50.75', '50.75', '50.75']);
    expect(result.firedAt).toBe(5);
  });

  it('BUY by percent trails the lowest price and fires when the price rises to the stop', () => {
    const spec: TriggerSpec = { type: 'TRAILING_STOP', side: 'BUY', trailingPercent: '5' };
    const result = walk(spec, ['100', '96', '80', '83', '84']);
    expect(result.states.map((state) => [state.extreme, state.stopPrice])).toEqual([
      ['100', '105'],
      ['96', '100.8'],
      ['80', '84'],
      ['80', '84'],
      ['80', '84'],
    ]);
    expect(result.firedAt).toBe(4);
    expect(result.fire).toEqual({ kind: 'MARKET', stopPrice: '84' });
  });

  it('BUY by amount trails the low and never fires while the price keeps falling', () => {
    const spec: TriggerSpec = { type: 'TRAILING_STOP', side: 'BUY', trailingAmount: '1' };
    const falling = walk(spec, ['10', '9.5', '9', '8.2', '7.9']);
    expect(falling.firedAt).toBeNull();
    expect(falling.states.at(-1)).toEqual({ extreme: '7.9', activated: true, stopPrice: '8.9' });
    expect(walk(spec, ['10', '9', '9.99', '10']).firedAt).toBe(3);
  });

  it('never loosens: the stop only ratchets in the order’s favour', () => {
    const sell: TriggerSpec = { type: 'TRAILING_STOP', side: 'SELL', trailingPercent: '3' };
    const buy: TriggerSpec = { type: 'TRAILING_STOP', side: 'BUY', trailingAmount: '2' };
    const path = ['100', '101', '100.5', '103', '102', '104', '103.5', '106'];
    const sellStops = walk(sell, path).states.map((state) => new Decimal(state.stopPrice!));
    for (let i = 1; i < sellStops.length; i += 1) expect(sellStops[i]!.gte(sellStops[i - 1]!)).toBe(true);
    const buyPath = ['100', '99', '99.5', '97', '98', '96', '97.9'];
    const buyStops = walk(buy, buyPath).states.map((state) => new Decimal(state.stopPrice!));
    for (let i = 1; i < buyStops.length; i += 1) expect(buyStops[i]!.lte(buyStops[i - 1]!)).toBe(true);
  });

  it('keeps a restored stop tighter than the one its extreme implies', () => {
    const spec: TriggerSpec = { type: 'TRAILING_STOP', side: 'SELL', trailingAmount: '10' };
    const restored: TriggerState = { extreme: '100', activated: true, stopPrice: '95' };
    expect(onPrice(spec, restored, '101').state).toEqual({ extreme: '101', activated: true, stopPrice: '95' });
    expect(onPrice(spec, restored, '95').fire).toEqual({ kind: 'MARKET', stopPrice: '95' });
  });

  it('SELL with an activation price ignores prices below it, then trails from the activating price', () => {
    const spec: TriggerSpec = { type: 'TRAILING_STOP', side: 'SELL', trailingPercent: '10', activationPrice: '150' };
    const result = walk(spec, ['100', '80', '149.99', '150', '160', '144'], '100');
    expect(result.states.slice(0, 3)).toEqual([
      { extreme: null, activated: false, stopPrice: null },
      { extreme: null, activated: false, stopPrice: null },
      { extreme: null, activated: false, stopPrice: null },
    ]);
    expect(result.states[3]).toEqual({ extreme: '150', activated: true, stopPrice: '135' });
    expect(result.states[4]).toEqual({ extreme: '160', activated: true, stopPrice: '144' });
    expect(result.firedAt).toBe(5);
  });

  it('does not fire before activation even through its would-be stop', () => {
    const spec: TriggerSpec = { type: 'TRAILING_STOP', side: 'SELL', trailingAmount: '5', activationPrice: '110' };
    expect(walk(spec, ['100', '50', '10', '109'], '100').firedAt).toBeNull();
  });

  it('BUY with an activation price activates once the price falls to it', () => {
    const spec: TriggerSpec = { type: 'TRAILING_STOP', side: 'BUY', trailingAmount: '4', activationPrice: '90' };
    const result = walk(spec, ['100', '95', '90', '85', '88', '89'], '100');
    expect(result.states[1]).toEqual({ extreme: null, activated: false, stopPrice: null });
    expect(result.states[2]).toEqual({ extreme: '90', activated: true, stopPrice: '94' });
    expect(result.states[3]).toEqual({ extreme: '85', activated: true, stopPrice: '89' });
    expect(result.firedAt).toBe(5);
    expect(result.fire).toEqual({ kind: 'MARKET', stopPrice: '89' });
  });

  it('returns the same state object when a price changes nothing, a new one otherwise', () => {
    const spec: TriggerSpec = { type: 'TRAILING_STOP', side: 'SELL', trailingPercent: '1' };
    const state = initialTriggerState(spec, '100');
    expect(onPrice(spec, state, '99.5').state).toBe(state);
    const moved = onPrice(spec, state, '101').state;
    expect(moved).not.toBe(state);
    expect(state).toEqual({ extreme: '100', activated: true, stopPrice: '99' });
    expect(moved).toEqual({ extreme: '101', activated: true, stopPrice: '99.99' });
  });

  it('computes percent stops exactly in decimals', () => {
    const spec: TriggerSpec = { type: 'TRAILING_STOP', side: 'SELL', trailingPercent: '0.125' };
    expect(initialTriggerState(spec, '67250.12345678').stopPrice).toBe('67166.060802459025');
  });
});

describe('TriggerBook', () => {
  const sell = (stopPrice: string): TriggerSpec => ({ type: 'STOP_MARKET', side: 'SELL', stopPrice });
  const buy = (stopPrice: string): TriggerSpec => ({ type: 'STOP_MARKET', side: 'BUY', stopPrice });
  const add = (book: TriggerBook, id: string, spec: TriggerSpec, symbol = 'BTC/USDT', price: string | null = '100') =>
    book.add(id, symbol, spec, initialTriggerState(spec, price));

  it('fires only the crossed orders, nearest level first, and removes them', () => {
    const book = new TriggerBook();
    add(book, 'sell-95', sell('95'));
    add(book, 'sell-90', sell('90'));
    add(book, 'sell-85', sell('85'));
    add(book, 'buy-105', buy('105'));
    add(book, 'buy-110', buy('110'));
    add(book, 'tp-sell-120', { type: 'TAKE_PROFIT', side: 'SELL', triggerPrice: '120' });
    add(book, 'limit-buy-92', { type: 'LIMIT', side: 'BUY', limitPrice: '92' });
    add(book, 'eth', sell('1000'), 'ETH/USDT');
    expect(book.size).toBe(8);

    expect(book.onPrice('BTC/USDT', '99').fired).toEqual([]);
    const down = book.onPrice('BTC/USDT', '90');
    expect(down.fired.map((fired) => fired.orderId)).toEqual(['sell-95', 'limit-buy-92', 'sell-90']);
    expect(down.fired[1]!.fire).toEqual({ kind: 'LIMIT', limitPrice: '92', stopPrice: null });
    expect(down.fired[0]!.state).toEqual({ extreme: null, activated: true, stopPrice: '95' });
    expect(book.has('sell-95')).toBe(false);
    expect(book.has('sell-85')).toBe(true);
    expect(book.onPrice('BTC/USDT', '91').fired).toEqual([]);

    const up = book.onPrice('BTC/USDT', '115');
    expect(up.fired.map((fired) => fired.orderId)).toEqual(['buy-105', 'buy-110']);
    expect(up.fired[0]!.fire).toEqual({ kind: 'MARKET', stopPrice: '105' });
    expect(book.size).toBe(3);
    expect(book.has('eth')).toBe(true);
  });

  it('ignores prices of symbols it holds nothing for', () => {
    const book = new TriggerBook();
    add(book, 'a', sell('95'));
    expect(book.onPrice('ETH/USDT', '1')).toEqual({ fired: [], updated: [] });
    expect(book.has('a')).toBe(true);
  });

  it('fires equal levels in the order they were added, both directions', () => {
    const book = new TriggerBook();
    for (const id of ['s1', 's2', 's3']) add(book, id, sell('90'));
    for (const id of ['b1', 'b2', 'b3']) add(book, id, buy('110'));
    expect(book.onPrice('BTC/USDT', '90').fired.map((fired) => fired.orderId)).toEqual(['s1', 's2', 's3']);
    expect(book.onPrice('BTC/USDT', '110').fired.map((fired) => fired.orderId)).toEqual(['b1', 'b2', 'b3']);
  });

  it('removes orders so they never fire, and reports whether it held them', () => {
    const book = new TriggerBook();
    for (const id of ['a', 'b', 'c']) add(book, id, sell('90'));
    add(book, 't', { type: 'TRAILING_STOP', side: 'SELL', trailingAmount: '5' });
    expect(book.remove('b')).toBe(true);
    expect(book.remove('b')).toBe(false);
    expect(book.remove('t')).toBe(true);
    expect(book.remove('unknown')).toBe(false);
    expect(book.has('b')).toBe(false);
    expect(book.size).toBe(2);
    expect(book.onPrice('BTC/USDT', '80').fired.map((fired) => fired.orderId)).toEqual(['a', 'c']);
    expect(book.size).toBe(0);
  });

  it('replaces an order added again under the same id', () => {
    const book = new TriggerBook();
    add(book, 'x', sell('90'));
    add(book, 'x', buy('110'));
    add(book, 'y', sell('90'));
    add(book, 'y', sell('90'), 'ETH/USDT');
    expect(book.size).toBe(2);
    expect(book.onPrice('BTC/USDT', '85').fired).toEqual([]);
    expect(book.onPrice('BTC/USDT', '111').fired.map((fired) => fired.orderId)).toEqual(['x']);
    expect(book.onPrice('ETH/USDT', '80').fired.map((fired) => fired.orderId)).toEqual(['y']);
  });

  it('refuses an invalid spec with a RangeError and keeps the book unchanged', () => {
    const book = new TriggerBook();
    add(book, 'a', sell('90'));
    expect(() => book.add('a', 'BTC/USDT', sell('-1'), { extreme: null, activated: true, stopPrice: null })).toThrow(RangeError);
    expect(book.has('a')).toBe(true);
    expect(book.onPrice('BTC/USDT', '90').fired.map((fired) => fired.orderId)).toEqual(['a']);
  });

  it('reports trailing orders whose state changed, and fires them with their final state', () => {
    const book = new TriggerBook();
    add(book, 'trail-sell', { type: 'TRAILING_STOP', side: 'SELL', trailingPercent: '10' });
    add(book, 'trail-wait', { type: 'TRAILING_STOP', side: 'SELL', trailingAmount: '1', activationPrice: '130' });

    expect(book.onPrice('BTC/USDT', '100')).toEqual({ fired: [], updated: [] });
    const up = book.onPrice('BTC/USDT', '120');
    expect(up.fired).toEqual([]);
    expect(up.updated).toEqual([{ orderId: 'trail-sell', state: { extreme: '120', activated: true, stopPrice: '108' } }]);
    expect(book.onPrice('BTC/USDT', '110')).toEqual({ fired: [], updated: [] });

    const down = book.onPrice('BTC/USDT', '104');
    expect(down.fired).toEqual([{ orderId: 'trail-sell', fire: { kind: 'MARKET', stopPrice: '108' }, state: { extreme: '120', activated: true, stopPrice: '108' } }]);
    expect(down.updated).toEqual([]);

    add(book, 'trail-buy', { type: 'TRAILING_STOP', side: 'BUY', trailingAmount: '5' }, 'BTC/USDT', '104');
    const low = book.onPrice('BTC/USDT', '90');
    expect(low.updated).toEqual([{ orderId: 'trail-buy', state: { extreme: '90', activated: true, stopPrice: '95' } }]);
    expect(book.onPrice('BTC/USDT', '95').fired.map((fired) => fired.orderId)).toEqual(['trail-buy']);

    const activation = book.onPrice('BTC/USDT', '131');
    expect(activation.updated).toEqual([{ orderId: 'trail-wait', state: { extreme: '131', activated: true, stopPrice: '130' } }]);
    expect(book.onPrice('BTC/USDT', '130').fired.map((fired) => fired.orderId)).toEqual(['trail-wait']);
    expect(book.size).toBe(0);
  });

  it('agrees with onPrice for many mixed orders over a long price path', () => {
    const random = seeded(11);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const price = (): string => new Decimal(80).plus(new Decimal(Math.floor(random() * 4000)).div(100)).toFixed();
    const sides = ['BUY', 'SELL'] as const;
    const specs = new Map<string, TriggerSpec>();
    for (let i = 0; i < 600; i += 1) {
      const side = pick(sides);
      const spec = pick<() => TriggerSpec>([
        () => ({ type: 'LIMIT', side, limitPrice: price() }),
        () => ({ type: 'STOP_MARKET', side, stopPrice: price() }),
        () => ({ type: 'STOP_LIMIT', side, stopPrice: price(), limitPrice: price() }),
        () => ({ type: 'TAKE_PROFIT', side, triggerPrice: price(), limitPrice: random() < 0.5 ? price() : undefined }),
        () => ({ type: 'TRAILING_STOP', side, trailingPercent: '2' }),
        () => ({ type: 'TRAILING_STOP', side, trailingAmount: '1.5', activationPrice: price() }),
      ])();
      specs.set(`o${i}`, spec);
    }
    const book = new TriggerBook();
    const states = new Map<string, TriggerState>();
    for (const [id, spec] of specs) {
      const state = initialTriggerState(spec, '100');
      states.set(id, state);
      book.add(id, 'BTC/USDT', spec, state);
    }

    let level = new Decimal(100);
    let firedCount = 0;
    for (let step = 0; step < 300; step += 1) {
      level = Decimal.max(80, Decimal.min(120, level.plus(new Decimal(Math.floor(random() * 301) - 150).div(100))));
      const tick = level.toFixed();
      const expectedFired = new Map<string, { fire: TriggerFire; state: TriggerState }>();
      const expectedUpdated = new Map<string, TriggerState>();
      for (const [id, state] of states) {
        const result = onPrice(specs.get(id)!, state, tick);
        if (result.fire) {
          expectedFired.set(id, { fire: result.fire, state: result.state });
          states.delete(id);
        } else if (result.state !== state) {
          expectedUpdated.set(id, result.state);
          states.set(id, result.state);
        }
      }
      const actual = book.onPrice('BTC/USDT', tick);
      expect(new Map(actual.fired.map((fired) => [fired.orderId, { fire: fired.fire, state: fired.state }]))).toEqual(expectedFired);
      expect(new Map(actual.updated.map((updated) => [updated.orderId, updated.state]))).toEqual(expectedUpdated);
      expect(book.size).toBe(states.size);
      firedCount += actual.fired.length;
    }
    expect(firedCount).toBeGreaterThan(100);
    expect(states.size).toBeGreaterThan(0);
  });

  it('fires exactly the crossed stops out of 10k on one symbol', () => {
    const book = new TriggerBook();
    for (let i = 0; i < 10_000; i += 1) {
      const level = new Decimal(50).plus(new Decimal(i).div(100)).toFixed();
      add(book, `s${i}`, i % 2 === 0 ? sell(level) : buy(new Decimal(level).plus(100).toFixed()));
    }
    // Sells sit at 50..149.98 (even i), buys at 150.01..249.99 (odd i).
    const down = book.onPrice('BTC/USDT', '149.5');
    expect(down.fired).toHaveLength(25);
    expect(down.fired[0]!.orderId).toBe('s9998');
    expect(down.fired.every((fired) => fired.fire.kind === 'MARKET' && new Decimal(fired.fire.stopPrice!).gte('149.5'))).toBe(true);
    const up = book.onPrice('BTC/USDT', '150.2');
    expect(up.fired.map((fired) => fired.orderId)).toEqual(['s1', 's3', 's5', 's7', 's9', 's11', 's13', 's15', 's17', 's19']);
    expect(book.size).toBe(10_000 - 35);
  });
});

/** Small deterministic generator (mulberry32) for the randomised comparison. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
