import { registerEnumType } from 'type-graphql';

export enum OrderStatus {
  PENDING = 'PENDING',
  AWAITING_PAYMENT = 'AWAITING_PAYMENT',
  PAID = 'PAID',
  SHIPPED = 'SHIPPED',
  DELIVERED = 'DELIVERED',
  FULFILLED = 'FULFILLED',
  CANCELLED = 'CANCELLED',
}

export enum CancelReason {
  OUT_OF_STOCK = 'OUT_OF_STOCK',
  PAYMENT_FAILED = 'PAYMENT_FAILED',
  EXPIRED = 'EXPIRED',
  CUSTOMER = 'CUSTOMER',
}

registerEnumType(OrderStatus, {
  name: 'OrderStatus',
  description:
    'PENDING: placed, stock not yet reserved. AWAITING_PAYMENT: stock reserved, payment requested. PAID: paid; goods wait for shipping. ' +
    'SHIPPED: goods on their way. DELIVERED: recorded in history only; a delivered order is FULFILLED. FULFILLED: everything delivered ' +
    '(digital-only orders on payment). CANCELLED: see cancelReason.',
});
registerEnumType(CancelReason, { name: 'CancelReason', description: 'Why an order was cancelled.' });

/**
 * The order state machine. Events and admin actions may only move an order along these edges;
 * anything else is refused (mutations: CONFLICT) or ignored (redelivered or late events).
 *
 *   PENDING ──StockReserved──▶ AWAITING_PAYMENT ──PaymentSucceeded──▶ PAID ──shipOrder──▶ SHIPPED ──markDelivered──▶ DELIVERED ─▶ FULFILLED
 *      │                             │                                  └──(digital only)──▶ FULFILLED
 *      └──StockRejected / cancel / expired──▶ CANCELLED ◀──PaymentFailed / cancel / expired──┘
 */
export const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  [OrderStatus.PENDING]: [OrderStatus.AWAITING_PAYMENT, OrderStatus.CANCELLED],
  [OrderStatus.AWAITING_PAYMENT]: [OrderStatus.PAID, OrderStatus.CANCELLED],
  [OrderStatus.PAID]: [OrderStatus.SHIPPED, OrderStatus.FULFILLED],
  [OrderStatus.SHIPPED]: [OrderStatus.DELIVERED],
  [OrderStatus.DELIVERED]: [OrderStatus.FULFILLED],
  [OrderStatus.FULFILLED]: [],
  [OrderStatus.CANCELLED]: [],
};

export const canTransition = (from: OrderStatus, to: OrderStatus): boolean => TRANSITIONS[from].includes(to);

/** States in which the customer may still cancel and a reservation may still expire: nothing was paid. */
export const CANCELLABLE: readonly OrderStatus[] = [OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT];

/** States no event or action leaves. */
export const isFinal = (status: OrderStatus): boolean => TRANSITIONS[status].length === 0;

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: OrderStatus,
    readonly to: OrderStatus,
  ) {
    super(`An order cannot go from ${from} to ${to}`);
    this.name = 'IllegalTransitionError';
  }
}
