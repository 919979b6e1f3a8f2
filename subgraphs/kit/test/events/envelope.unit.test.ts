import { randomUUID } from 'node:crypto';
import { consumersOf, EVENT_ROUTES, EVENT_SOURCES, EVENT_TYPES, eventQueueName, isEventEnvelope, SUBGRAPHS } from '../../src/events/envelope';

describe('event catalog', () => {
  it('routes every event type as DESIGN.md lists it, plus UserDeleted, ReservationExpired, RefundFailed, ReturnApproved and OrderShipped, and users mailing buyers', () => {
    expect(EVENT_ROUTES).toEqual({
      UserRegistered: ['analytics'],
      UserDeleted: ['catalog', 'orders', 'trading', 'portfolio', 'signals', 'analytics'],
      ProductChanged: ['orders', 'analytics'],
      PlanChanged: ['users', 'signals', 'analytics'],
      OrderPlaced: ['inventory'],
      StockReserved: ['orders'],
      StockRejected: ['orders'],
      PaymentRequested: ['payments'],
      PaymentSucceeded: ['orders', 'analytics'],
      PaymentFailed: ['orders', 'analytics'],
      RefundIssued: ['orders', 'analytics', 'users'],
      RefundFailed: ['orders', 'analytics'],
      OrderConfirmed: ['inventory', 'analytics', 'users'],
      OrderCancelled: ['inventory', 'payments', 'analytics', 'users'],
      OrderShipped: ['users'],
      ReturnApproved: ['payments', 'inventory', 'analytics'],
      LowStock: ['analytics'],
      ReservationExpired: ['orders', 'analytics'],
      TradeOrderUpdated: ['analytics'],
      FillExecuted: ['portfolio', 'analytics'],
      SignalReceived: ['analytics'],
      SignalScreenshotReady: ['analytics'],
      SignalResolved: ['analytics'],
    });
    expect(Object.keys(EVENT_SOURCES).sort()).toEqual([...EVENT_TYPES].sort());
    expect(consumersOf('NoSuchEvent')).toEqual([]);
    expect(consumersOf('toString')).toEqual([]);
  });

  it('names one BullMQ-safe queue per consuming subgraph', () => {
    for (const subgraph of SUBGRAPHS) {
      expect(eventQueueName(subgraph)).toBe(`events-${subgraph}`);
      expect(eventQueueName(subgraph)).not.toContain(':');
    }
  });

  it('recognises well-formed envelopes only', () => {
    const good = { id: randomUUID(), type: 'OrderPlaced', version: 1, occurredAt: new Date().toISOString(), source: 'orders', subject: 'o-1', data: {} };
    expect(isEventEnvelope(good)).toBe(true);
    expect(isEventEnvelope({ ...good, id: 'not-a-uuid' })).toBe(false);
    expect(isEventEnvelope({ ...good, data: null })).toBe(false);
    expect(isEventEnvelope('x')).toBe(false);
  });
});
