import { randomUUID } from 'node:crypto';
import { consumersOf, EVENT_TYPES } from '../../kit/src/events';
import { createLogger } from '../../kit/src';
import { analyticsRollups } from '../src/events';
import { parseFill } from '../src/trading/trading.events';
import { MalformedPayloadError } from '../src/shared/payload';
import { envelope, fillExecuted, orderConfirmed, paymentSucceeded, signalResolved } from './support';

const rollups = analyticsRollups(createLogger('analytics-test', 'silent'));
const parse = (event: ReturnType<typeof envelope>) => rollups[event.type]!.parse(event);

describe('analytics event handlers', () => {
  it('handle every event type the routes send to analytics, and nothing else', () => {
    const routed = EVENT_TYPES.filter((type) => consumersOf(type).includes('analytics')).sort();
    expect(Object.keys(rollups).sort()).toEqual(routed);
    expect(routed).toHaveLength(18);
  });

  it('read what they need and ignore unknown fields', () => {
    const orderId = randomUUID();
    const payment = paymentSucceeded(orderId, 4_900);
    payment.data.somethingNew = { nested: true };
    expect(parse(payment)).toEqual({ orderId, amount: 4_900, currency: 'USD', at: new Date(payment.occurredAt) });
  });

  it('upper-case currencies', () => {
    const orderId = randomUUID();
    expect(parse(paymentSucceeded(orderId, 100, new Date(), 'eur'))).toMatchObject({ currency: 'EUR' });
  });

  it('refuse a payload missing what the effect needs', () => {
    const missingAmount = envelope('PaymentSucceeded', 'payments', { orderId: randomUUID(), currency: 'USD' });
    expect(() => parse(missingAmount)).toThrow(MalformedPayloadError);
    const floatAmount = envelope('PaymentSucceeded', 'payments', { orderId: randomUUID(), amount: 10.5, currency: 'USD' });
    expect(() => parse(floatAmount)).toThrow(/amount must be a non-negative integer/);
    const badLine = orderConfirmed(randomUUID(), [{ productId: randomUUID(), quantity: 0 }]);
    expect(() => parse(badLine)).toThrow(/lines\[0\]\.quantity/);
    const noLines = envelope('OrderConfirmed', 'orders', { orderId: randomUUID() });
    expect(() => parse(noLines)).toThrow(/lines/);
    const badResult = signalResolved(randomUUID(), randomUUID(), 'WIN');
    badResult.data.result = 'MAYBE';
    expect(() => parse(badResult)).toThrow(MalformedPayloadError);
    const badTime = { ...paymentSucceeded(randomUUID(), 1), occurredAt: 'yesterday' };
    expect(() => parse(badTime)).toThrow(/occurredAt/);
  });

  it('need nothing but the envelope for pure counts', () => {
    for (const type of ['UserRegistered', 'PaymentFailed', 'OrderCancelled', 'ReservationExpired', 'SignalReceived', 'SignalScreenshotReady']) {
      expect(() => parse(envelope(type, 'x', {}))).not.toThrow();
    }
  });

  it('read a fill, deriving base and quote from the symbol when they are missing', () => {
    const userId = randomUUID();
    const fill = fillExecuted({ userId, symbol: 'ETH/USDC', quantity: '1.5', price: '3000', fee: '0.001', feeCurrency: 'ETH' });
    delete fill.data.base;
    delete fill.data.quote;
    expect(parseFill(fill)).toMatchObject({ userId, base: 'ETH', quote: 'USDC', quantity: '1.5', price: '3000', fee: '0.001', feeCurrency: 'ETH' });
    const noFee = fillExecuted({ userId, quantity: '1', price: '2' });
    delete noFee.data.fee;
    delete noFee.data.feeCurrency;
    expect(parseFill(noFee)).toMatchObject({ fee: '0', feeCurrency: 'USDT' });
    const noQuote = fillExecuted({ userId, quantity: '1', price: '2' });
    delete noQuote.data.quote;
    delete noQuote.data.symbol;
    expect(() => parseFill(noQuote)).toThrow(/quote/);
    const floatQuantity = fillExecuted({ userId, quantity: '1', price: '2' });
    floatQuantity.data.quantity = 1.5;
    expect(() => parseFill(floatQuantity)).toThrow(/quantity/);
  });
});
