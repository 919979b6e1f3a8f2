import { UnrecoverableError } from 'bullmq';
import { EventPayloadError } from '../src/reservation/reservation.events';
import { parseReturnApproved } from '../src/returns/restock.events';
import { envelope } from './support/events';

describe('ReturnApproved payload', () => {
  const valid = {
    orderId: 'o-1',
    returnId: 'r-1',
    userId: 'u-1',
    paymentId: 'pay-1',
    lines: [{ productId: 'p-1', kind: 'GOOD', quantity: 2 }],
    amount: 500,
    currency: 'USD',
  };
  const approved = (data: Record<string, unknown>) => envelope('ReturnApproved', data);

  it('reads the order, the return and the lines (the money is not inventory’s)', () => {
    expect(parseReturnApproved(approved(valid))).toEqual({ orderId: 'o-1', returnId: 'r-1', lines: [{ productId: 'p-1', kind: 'GOOD', quantity: 2 }] });
    expect(parseReturnApproved(approved({ ...valid, paymentId: null, lines: [] }))).toEqual({ orderId: 'o-1', returnId: 'r-1', lines: [] });
  });

  it.each([
    ['no return id', { ...valid, returnId: undefined }, /data.returnId/],
    ['a blank order id', { ...valid, orderId: ' ' }, /data.orderId/],
    ['lines not an array', { ...valid, lines: null }, /data.lines must be an array/],
    ['a negative quantity', { ...valid, lines: [{ productId: 'p', kind: 'GOOD', quantity: -1 }] }, /lines\[0\].quantity/],
  ])('refuses a ReturnApproved with %s, unrecoverably', (_name, data, message) => {
    let error: unknown;
    try {
      parseReturnApproved(approved(data));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(EventPayloadError);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toMatch(message);
  });
});
