import { randomUUID } from 'node:crypto';
import { canTransition, isFinal, OrderStatus, TRANSITIONS } from '../src/order/order-state';
import { planOf } from '../src/order/order.outbox';
import { assertCheckoutInput } from '../src/order/order.service';
import { decodeCursor, encodeCursor } from '../../kit/src';

describe('order state machine', () => {
  it('allows the saga and fulfilment edges', () => {
    const allowed: [OrderStatus, OrderStatus][] = [
      [OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT],
      [OrderStatus.PENDING, OrderStatus.CANCELLED],
      [OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID],
      [OrderStatus.AWAITING_PAYMENT, OrderStatus.CANCELLED],
      [OrderStatus.PAID, OrderStatus.SHIPPED],
      [OrderStatus.PAID, OrderStatus.FULFILLED],
      [OrderStatus.SHIPPED, OrderStatus.DELIVERED],
      [OrderStatus.DELIVERED, OrderStatus.FULFILLED],
    ];
    for (const [from, to] of allowed) expect(canTransition(from, to)).toBe(true);
    const count = Object.values(TRANSITIONS).reduce((sum, targets) => sum + targets.length, 0);
    expect(count).toBe(allowed.length);
  });

  it('never leaves CANCELLED or FULFILLED, never goes back, never skips payment', () => {
    for (const to of Object.values(OrderStatus)) {
      expect(canTransition(OrderStatus.CANCELLED, to)).toBe(false);
      expect(canTransition(OrderStatus.FULFILLED, to)).toBe(false);
    }
    expect(isFinal(OrderStatus.CANCELLED) && isFinal(OrderStatus.FULFILLED)).toBe(true);
    expect(canTransition(OrderStatus.PAID, OrderStatus.CANCELLED)).toBe(false);
    expect(canTransition(OrderStatus.PAID, OrderStatus.AWAITING_PAYMENT)).toBe(false);
    expect(canTransition(OrderStatus.PENDING, OrderStatus.PAID)).toBe(false);
    expect(canTransition(OrderStatus.AWAITING_PAYMENT, OrderStatus.AWAITING_PAYMENT)).toBe(false);
  });
});

describe('order cursors', () => {
  it('round-trips a position', () => {
    const position = { at: new Date('2030-05-06T07:08:09.123Z'), id: randomUUID() };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'a+b/c'],
    ['not JSON', Buffer.from('nope').toString('base64url')],
    ['a bad id', Buffer.from(JSON.stringify({ t: '2030-01-01T00:00:00.000Z', i: 'x' })).toString('base64url')],
    ['a bad time', Buffer.from(JSON.stringify({ t: '2030-01-01', i: randomUUID() })).toString('base64url')],
  ])('refuses %s', (_name, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }));
  });
});

describe('checkout input', () => {
  it.each([
    ['a 7-character key', { idempotencyKey: '1234567' }, 'idempotencyKey'],
    ['a 101-character key', { idempotencyKey: 'k'.repeat(101) }, 'idempotencyKey'],
    ['a blank key', { idempotencyKey: '         ' }, 'idempotencyKey'],
    ['a blank payment method', { paymentMethod: ' ' }, 'paymentMethod'],
    ['a long payment method', { paymentMethod: 'p'.repeat(101) }, 'paymentMethod'],
  ])('refuses %s', (_name, change, field) => {
    expect(() => assertCheckoutInput({ idempotencyKey: '12345678', paymentMethod: 'card', ...change })).toThrow(
      expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', field } }),
    );
  });

  it('accepts the limits', () => {
    expect(() => assertCheckoutInput({ idempotencyKey: '12345678', paymentMethod: 'c' })).not.toThrow();
    expect(() => assertCheckoutInput({ idempotencyKey: 'k'.repeat(100), paymentMethod: 'p'.repeat(100) })).not.toThrow();
  });
});

describe('planOf', () => {
  it('strips the PLAN- prefix of a plan sku', () => {
    expect(planOf('PLAN-PRO')).toBe('PRO');
    expect(planOf('PLAN-PRO-YEAR')).toBe('PRO-YEAR');
    expect(planOf('CUSTOM')).toBe('CUSTOM');
  });
});
