import { outboxInsertSql, type EntityManager, type OutboxInsert } from '../../../kit/src';
import type { CancelReason, OrderStatus } from './order-state';
import { ORDERS_EVENT_SOURCE, type LineFacts } from './order.outbox';
import { moveOrder, type TransitionOptions } from './order.transitions';

/**
 * The saga's reads and writes of an order in raw SQL. Every saga event runs one locking read and at
 * most one write statement, instead of the ORM's find + lines query + a three-statement flush: the
 * event consumers are the hot path of checkout, and each statement costs a round trip and ORM work.
 * The ORM path (order.transitions.ts) stays for the API's actions; both keep the same rules (the row
 * lock, `version` incremented on every update, the state machine of `moveOrder`).
 */

/** An order as the saga reads it, with its lines, from one statement that also locks the row. */
export interface SagaOrder {
  id: string;
  userId: string;
  status: OrderStatus;
  cancelReason: CancelReason | null;
  totalAmount: number;
  currency: string;
  paymentMethod: string;
  reservationId: string | null;
  paymentId: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  closedAt: Date | null;
  /** In cart order. Lines never change after checkout, so reading them with the order is safe. */
  lines: LineFacts[];
}

interface SagaOrderRow {
  id: string;
  user_id: string;
  status: OrderStatus;
  cancel_reason: CancelReason | null;
  total_amount: number;
  currency: string;
  payment_method: string;
  reservation_id: string | null;
  payment_id: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
  closed_at: Date | null;
  lines: LineFacts[];
}

/**
 * Loads an order with its lines and locks the order row (SELECT … FOR UPDATE) until the transaction
 * ends, like `lockOrder`: events and actions on one order run one after the other.
 */
export async function lockSagaOrder(tx: EntityManager, orderId: string): Promise<SagaOrder | null> {
  const rows: SagaOrderRow[] = await tx.execute(
    `select o."id", o."user_id", o."status", o."cancel_reason", o."total_amount", o."currency", o."payment_method", o."reservation_id",
            o."payment_id", o."version", o."created_at", o."updated_at", o."closed_at",
            coalesce((select json_agg(json_build_object('productId', l."product_id", 'sku', l."sku", 'name', l."name", 'kind', l."kind", 'quantity', l."quantity", 'unitAmount', l."unit_amount") order by l."position")
                        from "order_line" l where l."order_id" = o."id"), '[]'::json) as "lines"
       from "orders" o where o."id" = ? for update of o`,
    [orderId],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    id: row.id,
    userId: row.user_id,
    status: row.status,
    cancelReason: row.cancel_reason,
    totalAmount: Number(row.total_amount),
    currency: row.currency,
    paymentMethod: row.payment_method,
    reservationId: row.reservation_id,
    paymentId: row.payment_id,
    version: Number(row.version),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    closedAt: row.closed_at === null ? null : new Date(row.closed_at),
    lines: row.lines,
  };
}

/** The columns a saga step may change, by field of SagaOrder. */
const COLUMNS = {
  status: 'status',
  cancelReason: 'cancel_reason',
  reservationId: 'reservation_id',
  paymentId: 'payment_id',
  updatedAt: 'updated_at',
  closedAt: 'closed_at',
} as const satisfies Partial<Record<keyof SagaOrder, string>>;

const same = (a: unknown, b: unknown): boolean => (a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b);

/**
 * What one saga step does to a locked order: field changes (made on `order` directly), history
 * entries and events, written together by `write` in one statement.
 */
export class OrderChange {
  private readonly original: SagaOrder;
  private readonly history: { status: OrderStatus; reason: string | null; at: Date }[] = [];
  private readonly events: OutboxInsert[] = [];

  constructor(readonly order: SagaOrder) {
    this.original = { ...order };
  }

  /** Moves the order along one edge of the state machine (IllegalTransitionError otherwise) and notes it in the history. */
  transition(to: OrderStatus, options: TransitionOptions = {}): void {
    const at = moveOrder(this.order, to, options);
    this.note(options.reason ?? null, at);
  }

  /** A history entry under the order's current status (a note, not a transition). */
  note(reason: string | null, at = new Date()): void {
    this.history.push({ status: this.order.status, reason, at });
  }

  /** An event of orders, written to the outbox with the change. */
  event(type: string, subject: string, data: object): void {
    this.events.push({ type, subject, data });
  }

  /**
   * Writes the change: the order row (version + 1, checked against the version read under the lock),
   * its history entries in order and its events, in one statement. Nothing to write, nothing sent.
   */
  async write(tx: EntityManager): Promise<void> {
    const changed = (Object.keys(COLUMNS) as (keyof typeof COLUMNS)[]).filter((field) => !same(this.order[field], this.original[field]));
    if (changed.length === 0 && this.history.length === 0 && this.events.length === 0) return;
    const params: unknown[] = [];
    let sql: string;
    if (changed.length > 0) {
      const sets = changed.map((field) => {
        params.push(this.order[field]);
        return `"${COLUMNS[field]}" = ?`;
      });
      params.push(this.order.id, this.original.version);
      sql = `with "u" as (update "orders" set ${sets.join(', ')}, "version" = "version" + 1 where "id" = ? and "version" = ? returning "id")`;
    } else {
      params.push(this.order.id);
      sql = `with "u" as (select "id" from "orders" where "id" = ?)`;
    }
    if (this.history.length > 0) {
      const rows = this.history.map((entry, index) => {
        params.push(index, entry.status, entry.reason, entry.at);
        return '(?::int, ?::varchar, ?::varchar, ?::timestamptz)';
      });
      // Ordered, so the identity ids follow the order in which the steps happened.
      sql += `, "h" as (insert into "order_history" ("order_id", "status", "reason", "at") select "u"."id", "v"."status", "v"."reason", "v"."at" from "u" cross join (values ${rows.join(', ')}) as "v"("n", "status", "reason", "at") order by "v"."n")`;
    }
    if (this.events.length > 0) {
      const outbox = outboxInsertSql(ORDERS_EVENT_SOURCE, this.events, 'u');
      sql += `, "e" as (${outbox.sql})`;
      params.push(...outbox.params);
    }
    sql += ` select count(*)::int as "n" from "u"`;
    const [row] = await tx.execute<{ n: number }[]>(sql, params);
    // The row is locked by this transaction, so this only fails if something bypassed the lock.
    if (Number(row?.n) !== 1) throw new Error(`order ${this.order.id} changed or vanished under its row lock (version ${this.original.version})`);
    if (changed.length > 0) this.order.version = this.original.version + 1;
  }
}
