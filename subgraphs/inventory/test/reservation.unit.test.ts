import { UnrecoverableError } from 'bullmq';
import { readInventoryConfig } from '../src/config';
import { EventPayloadError, parseOrderCancelled, parseOrderId, parseOrderPlaced } from '../src/reservation/reservation.events';
import { goodLines } from '../src/reservation/reservation.service';
import { envelope } from './support/events';

describe('goodLines', () => {
  it('keeps GOOD lines only, one per product with quantities added, sorted by product id', () => {
    expect(
      goodLines([
        { productId: 'p-b', kind: 'GOOD', quantity: 2 },
        { productId: 'p-plan', kind: 'PLAN', quantity: 1 },
        { productId: 'p-a', kind: 'GOOD', quantity: 1 },
        { productId: 'p-ind', kind: 'INDICATOR', quantity: 1 },
        { productId: 'p-b', kind: 'GOOD', quantity: 3 },
      ]),
    ).toEqual([
      { productId: 'p-a', quantity: 1 },
      { productId: 'p-b', quantity: 5 },
    ]);
    expect(goodLines([{ productId: 'p-plan', kind: 'PLAN', quantity: 1 }])).toEqual([]);
  });
});

describe('event payloads', () => {
  const placed = (data: Record<string, unknown>) => envelope('OrderPlaced', data);
  const valid = { orderId: 'o-1', userId: 'u-1', lines: [{ productId: 'p-1', kind: 'GOOD', quantity: 2 }], total: { amount: 100, currency: 'USD' } };

  it('reads OrderPlaced', () => {
    expect(parseOrderPlaced(placed(valid))).toEqual({ orderId: 'o-1', userId: 'u-1', lines: [{ productId: 'p-1', kind: 'GOOD', quantity: 2 }] });
  });

  it.each([
    ['no order id', { ...valid, orderId: undefined }, /data.orderId/],
    ['no user id', { ...valid, userId: '' }, /data.userId/],
    ['lines not an array', { ...valid, lines: 'p-1' }, /data.lines must be an array/],
    ['a line without product', { ...valid, lines: [{ kind: 'GOOD', quantity: 1 }] }, /lines\[0\].productId/],
    ['a line without kind', { ...valid, lines: [{ productId: 'p', quantity: 1 }] }, /lines\[0\].kind/],
    ['a zero quantity', { ...valid, lines: [{ productId: 'p', kind: 'GOOD', quantity: 0 }] }, /lines\[0\].quantity/],
    ['a fractional quantity', { ...valid, lines: [{ productId: 'p', kind: 'GOOD', quantity: 1.5 }] }, /lines\[0\].quantity/],
  ])('refuses an OrderPlaced with %s, unrecoverably', (_name, data, message) => {
    let error: unknown;
    try {
      parseOrderPlaced(placed(data));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(EventPayloadError);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toMatch(message);
  });

  it('reads the order id of OrderConfirmed and the reason of OrderCancelled', () => {
    expect(parseOrderId(envelope('OrderConfirmed', { orderId: 'o-2', userId: 'u', lines: [] }))).toBe('o-2');
    expect(parseOrderCancelled(envelope('OrderCancelled', { orderId: 'o-3', reason: 'EXPIRED', lines: [], reservationId: 'r-1' }))).toEqual({
      orderId: 'o-3',
      reason: 'EXPIRED',
      reservationId: 'r-1',
    });
    expect(parseOrderCancelled(envelope('OrderCancelled', { orderId: 'o-3', lines: [] }))).toEqual({ orderId: 'o-3', reason: 'UNKNOWN', reservationId: null });
    expect(() => parseOrderId(envelope('OrderConfirmed', {}))).toThrow(EventPayloadError);
  });
});

describe('reservation config', () => {
  it('holds for 900 s and sweeps every 60 s by default', () => {
    expect(readInventoryConfig({})).toMatchObject({ reservationTtlSeconds: 900, reservationSweepSeconds: 60, eventsEnabled: true });
  });

  it('reads RESERVATION_TTL_SECONDS and RESERVATION_SWEEP_SECONDS, and refuses a TTL below 1 s', () => {
    expect(readInventoryConfig({ RESERVATION_TTL_SECONDS: '1', RESERVATION_SWEEP_SECONDS: '0' })).toMatchObject({ reservationTtlSeconds: 1, reservationSweepSeconds: 0 });
    expect(() => readInventoryConfig({ RESERVATION_TTL_SECONDS: '0' })).toThrow(/RESERVATION_TTL_SECONDS/);
    expect(() => readInventoryConfig({ RESERVATION_SWEEP_SECONDS: '-1' })).toThrow(/RESERVATION_SWEEP_SECONDS/);
  });
});
