import type { RollupHandler, RollupHandlers } from '../shared/consume';
import { payloadReader, type EventLine } from '../shared/payload';
import { dayOf, type Day } from '../shared/time';
import { addDailySales, addProductSales, countOrderEvent, settleSale, unitsByProduct, type OrderCount } from './sales.rollup';

// Payloads as payments, orders, inventory and catalog write them (only the fields analytics uses).

/** PaymentSucceeded (payments): `{ orderId, paymentId, amount, currency }`. */
export interface PaymentCollected {
  orderId: string;
  amount: number;
  currency: string;
  at: Date;
}

/** RefundIssued / RefundFailed (payments): `{ orderId, paymentId, refundId, amount, currency, … }`. */
export interface RefundFact {
  refundId: string;
  orderId: string;
  amount: number;
  currency: string;
  at: Date;
}

/** OrderConfirmed (orders): `{ orderId, userId, lines: [{ productId, kind, quantity, unitAmount }] }`. */
export interface OrderConfirmation {
  orderId: string;
  lines: EventLine[];
  at: Date;
}

/** ReturnApproved (orders): `{ orderId, returnId, userId, paymentId, lines, amount, currency }`; the money comes back as RefundIssued. */
export interface ApprovedReturn {
  lines: EventLine[];
  currency: string | null;
  day: Day;
}

/** ProductChanged (catalog): `{ productId, sku, kind, priceAmount, currency, active }`. */
export interface ListPrice {
  productId: string;
  priceAmount: number;
  currency: string;
  at: Date;
}

const paymentSucceeded: RollupHandler<PaymentCollected> = {
  parse(envelope) {
    const read = payloadReader(envelope);
    return { orderId: read.id('orderId'), amount: read.amount('amount'), currency: read.currency('currency'), at: read.occurredAt };
  },
  // Revenue counts when the money is taken (cash basis); a second success for one order adds nothing.
  async apply(em, payment) {
    const first: unknown[] = await em.execute(
      `insert into "sale_order" ("order_id", "currency", "paid_minor", "paid_at") values (?, ?, ?, ?)
       on conflict ("order_id") do update set "currency" = excluded."currency", "paid_minor" = excluded."paid_minor", "paid_at" = excluded."paid_at"
       where "sale_order"."paid_at" is null
       returning "order_id"`,
      [payment.orderId, payment.currency, payment.amount, payment.at],
    );
    if (first.length === 0) return;
    await addDailySales(em, dayOf(payment.at), payment.currency, { orders: 1, revenue: BigInt(payment.amount) });
    await settleSale(em, payment.orderId);
  },
};

const orderConfirmed: RollupHandler<OrderConfirmation> = {
  parse(envelope) {
    const read = payloadReader(envelope);
    return { orderId: read.id('orderId'), lines: read.lines('lines', true), at: read.occurredAt };
  },
  async apply(em, order) {
    const first: unknown[] = await em.execute(
      `insert into "sale_order" ("order_id", "lines", "confirmed_at") values (?, ?::jsonb, ?)
       on conflict ("order_id") do update set "lines" = excluded."lines", "confirmed_at" = excluded."confirmed_at"
       where "sale_order"."confirmed_at" is null
       returning "order_id"`,
      [order.orderId, JSON.stringify(order.lines), order.at],
    );
    if (first.length === 0) return;
    await countOrderEvent(em, dayOf(order.at), 'confirmed');
    await settleSale(em, order.orderId);
  },
};

const parseRefund: RollupHandler<RefundFact>['parse'] = (envelope) => {
  const read = payloadReader(envelope);
  return { refundId: read.id('refundId'), orderId: read.id('orderId'), amount: read.amount('amount'), currency: read.currency('currency'), at: read.occurredAt };
};

/**
 * Refunds count on the day they were issued. A refund Stripe fails after it was reported issued
 * (RefundFailed) is taken back from that same day; one that fails before its RefundIssued arrives
 * is never counted. The `sale_refund` row remembers which of the two happened.
 */
const refundIssued: RollupHandler<RefundFact> = {
  parse: parseRefund,
  async apply(em, refund) {
    const day = dayOf(refund.at);
    const rows: { failed_at: string | Date | null }[] = await em.execute(
      `insert into "sale_refund" ("refund_id", "order_id", "currency", "amount_minor", "issued_day") values (?, ?, ?, ?, ?::date)
       on conflict ("refund_id") do update set "issued_day" = excluded."issued_day"
       where "sale_refund"."issued_day" is null
       returning "failed_at"`,
      [refund.refundId, refund.orderId, refund.currency, refund.amount, day],
    );
    if (rows.length === 0 || rows[0]!.failed_at !== null) return;
    await addDailySales(em, day, refund.currency, { refunds: BigInt(refund.amount) });
  },
};

const refundFailed: RollupHandler<RefundFact> = {
  parse: parseRefund,
  async apply(em, refund) {
    const rows: { issued_day: string | Date | null; currency: string; amount_minor: string }[] = await em.execute(
      `insert into "sale_refund" ("refund_id", "order_id", "currency", "amount_minor", "failed_at") values (?, ?, ?, ?, ?)
       on conflict ("refund_id") do update set "failed_at" = excluded."failed_at"
       where "sale_refund"."failed_at" is null
       returning to_char("issued_day", 'YYYY-MM-DD') as "issued_day", "currency", "amount_minor"`,
      [refund.refundId, refund.orderId, refund.currency, refund.amount, refund.at],
    );
    const reversed = rows[0];
    if (!reversed || reversed.issued_day === null) return;
    await addDailySales(em, String(reversed.issued_day), reversed.currency, { refunds: -BigInt(reversed.amount_minor) });
  },
};

const approvedReturn: RollupHandler<ApprovedReturn> = {
  parse(envelope) {
    const read = payloadReader(envelope);
    const lines = read.lines('lines', false);
    return { lines, currency: lines.length > 0 ? read.currency('currency') : null, day: dayOf(read.occurredAt) };
  },
  async apply(em, approved) {
    await countOrderEvent(em, approved.day, 'returns');
    if (approved.currency === null) return;
    const rows = [...unitsByProduct(approved.lines)].map(([productId, units]) => ({ productId, units: 0, revenue: 0n, unitsReturned: units }));
    await addProductSales(em, approved.currency, rows);
  },
};

const listPrice: RollupHandler<ListPrice> = {
  parse(envelope) {
    const read = payloadReader(envelope);
    return { productId: read.id('productId'), priceAmount: read.amount('priceAmount'), currency: read.currency('currency'), at: read.occurredAt };
  },
  // Only a newer change replaces the price: a late or redelivered event never brings an old one back.
  async apply(em, price) {
    await em.execute(
      `insert into "product_price" ("product_id", "currency", "price_minor", "source_occurred_at") values (?, ?, ?, ?)
       on conflict ("product_id") do update set "currency" = excluded."currency", "price_minor" = excluded."price_minor", "source_occurred_at" = excluded."source_occurred_at"
       where "product_price"."source_occurred_at" < excluded."source_occurred_at"`,
      [price.productId, price.currency, price.priceAmount, price.at],
      'run',
    );
  },
};

/** An event that only adds one to a daily order counter; its payload beyond the envelope is not needed. */
const counted = (count: OrderCount): RollupHandler<Day> => ({
  parse: (envelope) => dayOf(payloadReader(envelope).occurredAt),
  apply: (em, day) => countOrderEvent(em, day, count),
});

/** The sales side: payments, orders, returns, reservations and list prices. */
export const salesHandlers: RollupHandlers = {
  PaymentSucceeded: paymentSucceeded,
  PaymentFailed: counted('payment_failures'),
  RefundIssued: refundIssued,
  RefundFailed: refundFailed,
  OrderConfirmed: orderConfirmed,
  OrderCancelled: counted('cancelled'),
  ReturnApproved: approvedReturn,
  ReservationExpired: counted('reservations_expired'),
  ProductChanged: listPrice,
};
