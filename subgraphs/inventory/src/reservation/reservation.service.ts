import { randomUUID } from 'node:crypto';
import { LockMode, QueryOrder } from '@mikro-orm/core';
import { outboxInsertSql, type EntityManager, type OutboxInsert } from '../../../kit/src';
import { availableOf, StockLevelEntity } from '../stock/stock-level.entity';
import { crossesIntoLowStock, INVENTORY_EVENT_SOURCE, LOW_STOCK_EVENT, type LowStockData } from '../stock/stock.events';
import { ReservationEntity, ReservationStatus, type ReservationLine } from './reservation.entity';
import {
  RESERVATION_EXPIRED,
  STOCK_REJECTED,
  STOCK_RESERVED,
  type OrderLine,
  type ReservationExpiredData,
  type StockRejectedData,
  type StockReservedData,
} from './reservation.events';

/** Ledger actor of the changes the order saga makes (as `seed` is the seed's). */
export const RESERVATION_ACTOR_ID = 'reservations';

/** What the expiry job needs; the job id is the reservation id. */
export interface ExpiryJobData {
  reservationId: string;
  orderId: string;
}

/** Schedules the delayed job that expires a reservation (reservation.jobs.ts). */
export interface ExpiryScheduler {
  schedule(job: ExpiryJobData, delayMs: number): Promise<void>;
}

export interface ReservationServiceOptions {
  ttlSeconds: number;
  scheduler: ExpiryScheduler;
}

/** An order as inventory reads it from OrderPlaced. */
export interface PlacedOrder {
  orderId: string;
  userId: string;
  lines: OrderLine[];
}

export type ReserveResult =
  | { outcome: 'reserved'; reservation: ReservationEntity }
  | { outcome: 'rejected'; productIds: string[] }
  /** The order already has a reservation (whatever its status): nothing changes. */
  | { outcome: 'duplicate'; reservation: ReservationEntity };

export type SettleResult =
  | { outcome: 'committed' | 'released' | 'expired'; reservation: ReservationEntity }
  | { outcome: 'not-found' }
  /** COMMITTED, RELEASED or EXPIRED already: final states do not move. */
  | { outcome: 'not-held'; reservation: ReservationEntity };

/** A reservation can only hold a product that is a GOOD; other kinds are sold without a stock limit. */
const STOCKED_KIND = 'GOOD';

/** The GOOD lines of an order, one per product (quantities of repeated products added), sorted by product id. */
export function goodLines(lines: readonly OrderLine[]): ReservationLine[] {
  const quantities = new Map<string, number>();
  for (const line of lines) {
    if (line.kind !== STOCKED_KIND) continue;
    quantities.set(line.productId, (quantities.get(line.productId) ?? 0) + line.quantity);
  }
  return [...quantities]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([productId, quantity]) => ({ productId, quantity }));
}

/** Runs `work` in the caller's transaction (the consumer's, with the inbox row) or in a new one. */
export async function withinTransaction<T>(em: EntityManager, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  if (!em.isInTransaction()) return em.transactional(work);
  const result = await work(em);
  await em.flush();
  return result;
}

/**
 * Locks the stock levels of `productIds` with one `SELECT … ORDER BY product_id FOR UPDATE`: rows
 * are locked in product-id order, the same order in every transaction that locks several levels,
 * so two orders sharing products wait for each other instead of deadlocking. Missing levels are
 * simply absent from the map (reservations never create a level; a restock creates its missing levels first).
 */
export async function lockLevels(tx: EntityManager, productIds: readonly string[]): Promise<Map<string, StockLevelEntity>> {
  if (productIds.length === 0) return new Map();
  const levels = await tx.find(
    StockLevelEntity,
    { productId: { $in: [...new Set(productIds)] } },
    { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { productId: QueryOrder.ASC }, refresh: true },
  );
  return new Map(levels.map((level) => [level.productId, level]));
}

/** A stock level as the saga's raw SQL reads it (locked). */
interface LevelRow {
  productId: string;
  onHand: number;
  reserved: number;
  lowStockThreshold: number;
}

/** One ledger row of a saga step (actor `reservations`). */
interface MovementRow {
  productId: string;
  delta: number;
  reservedDelta: number;
  onHandAfter: number;
  reservedAfter: number;
  reason: string;
}

/**
 * Locks the levels of `productIds` in product-id order (as `lockLevels`, without the ORM) and, with
 * `orderId`, reads in the same statement whether that order has a reservation already.
 */
async function lockLevelRows(tx: EntityManager, productIds: readonly string[], orderId?: string): Promise<{ levels: Map<string, LevelRow>; reservedAlready: boolean | null }> {
  const ids = [...new Set(productIds)];
  if (ids.length === 0) return { levels: new Map(), reservedAlready: null };
  const existing = orderId === undefined ? 'null' : 'exists (select 1 from "reservation" r where r."order_id" = ?)';
  const rows: { product_id: string; on_hand: number; reserved: number; low_stock_threshold: number; reserved_already: boolean | null }[] = await tx.execute(
    `select s."product_id", s."on_hand", s."reserved", s."low_stock_threshold", ${existing} as "reserved_already"
       from "stock_level" s where s."product_id" in (${ids.map(() => '?').join(', ')}) order by s."product_id" for update of s`,
    orderId === undefined ? ids : [orderId, ...ids],
  );
  const levels = new Map(rows.map((row) => [row.product_id, { productId: row.product_id, onHand: Number(row.on_hand), reserved: Number(row.reserved), lowStockThreshold: Number(row.low_stock_threshold) }]));
  return { levels, reservedAlready: rows.length > 0 ? Boolean(rows[0]!.reserved_already) : null };
}

/**
 * Writes one saga step in a single statement: the new counts of the (locked) levels, their ledger
 * rows in order, the reservation's own row (`reservation`, a data-modifying statement) and the
 * events. Checks that every level was updated.
 */
async function writeStockStep(
  tx: EntityManager,
  step: { levels: LevelRow[]; movements: MovementRow[]; reservationId: string; reservation: { sql: string; params: unknown[] }; events: OutboxInsert[] },
): Promise<void> {
  const now = new Date();
  const params: unknown[] = [];
  const ctes: string[] = [];
  if (step.levels.length > 0) {
    params.push(now);
    const rows = step.levels.map((level) => {
      params.push(level.productId, level.onHand, level.reserved);
      return '(?::varchar, ?::int, ?::int)';
    });
    ctes.push(
      `"l" as (update "stock_level" as s set "on_hand" = v."on_hand", "reserved" = v."reserved", "updated_at" = ? from (values ${rows.join(', ')}) as v("product_id", "on_hand", "reserved") where s."product_id" = v."product_id" returning s."product_id")`,
    );
  } else {
    ctes.push(`"l" as (select null where false)`);
  }
  ctes.push(`"r" as (${step.reservation.sql})`);
  params.push(...step.reservation.params);
  if (step.movements.length > 0) {
    const rows = step.movements.map((movement, index) => {
      params.push(index, movement.productId, movement.delta, movement.reason, movement.onHandAfter, movement.reservedDelta, movement.reservedAfter, step.reservationId, RESERVATION_ACTOR_ID, now);
      return '(?::int, ?::varchar, ?::int, ?::varchar, ?::int, ?::int, ?::int, ?::uuid, ?::varchar, ?::timestamptz)';
    });
    // Ordered, so the identity ids follow the order in which the changes were applied.
    ctes.push(
      `"m" as (insert into "stock_movement" ("product_id", "delta", "reason", "on_hand_after", "reserved_delta", "reserved_after", "reservation_id", "actor_id", "created_at") select v."product_id", v."delta", v."reason", v."on_hand_after", v."reserved_delta", v."reserved_after", v."reservation_id", v."actor_id", v."created_at" from (values ${rows.join(', ')}) as v("n", "product_id", "delta", "reason", "on_hand_after", "reserved_delta", "reserved_after", "reservation_id", "actor_id", "created_at") order by v."n")`,
    );
  }
  if (step.events.length > 0) {
    const outbox = outboxInsertSql(INVENTORY_EVENT_SOURCE, step.events);
    ctes.push(`"e" as (${outbox.sql})`);
    params.push(...outbox.params);
  }
  const [row] = await tx.execute<{ n: number }[]>(`with ${ctes.join(', ')} select count(*)::int as "n" from "l"`, params);
  if (Number(row?.n) !== step.levels.length) throw new Error(`reservation ${step.reservationId}: ${row?.n} of ${step.levels.length} stock levels updated under their row locks`);
}

/** A ReservationEntity for results and logs, not managed by any EntityManager (the row is written with raw SQL). */
const reservationView = (fields: Omit<ReservationEntity, never>): ReservationEntity => Object.assign(new ReservationEntity(), fields);

/**
 * Reservations for the order saga. Every method takes an EntityManager first and runs in its
 * transaction when it has one (the event consumer's, which also records the inbox row), else in a
 * new one: the stock change, the ledger rows and the outgoing event commit together.
 */
export class ReservationService {
  constructor(private readonly options: ReservationServiceOptions) {}

  get ttlSeconds(): number {
    return this.options.ttlSeconds;
  }

  /**
   * OrderPlaced: holds every GOOD line of the order or none. Locks the levels in product order,
   * checks `available >= quantity` for every line (a good without a level has 0 available), then
   * raises `reserved`, writes the reservation and one ledger row per line, records StockReserved
   * and schedules the expiry job (through `afterCommit` when the caller has a transaction to finish). When any line is short nothing is held and StockRejected names
   * the short products. An order with a reservation already is left alone.
   */
  async reserve(em: EntityManager, order: PlacedOrder, afterCommit: (work: () => Promise<void>) => void | Promise<void> = (work) => work()): Promise<ReserveResult> {
    return withinTransaction(em, async (tx) => {
      // Raw SQL, three statements at most: lock the levels (and look for a reservation of the order in
      // the same statement), then write levels, ledger, reservation and events in one. This is the hot
      // path of checkout; the unique order id of `reservation` still refuses a second reservation.
      const lines = goodLines(order.lines);
      const { levels, reservedAlready } = await lockLevelRows(tx, lines.map((line) => line.productId), order.orderId);
      if (reservedAlready !== false) {
        const existing = await tx.findOne(ReservationEntity, { orderId: order.orderId });
        if (existing) return { outcome: 'duplicate', reservation: existing };
      }
      const short = lines
        .filter((line) => {
          const level = levels.get(line.productId);
          return !level || availableOf(level) < line.quantity;
        })
        .map((line) => line.productId);
      if (short.length > 0) {
        const data: StockRejectedData = { orderId: order.orderId, reason: 'OUT_OF_STOCK', productIds: short };
        const outbox = outboxInsertSql(INVENTORY_EVENT_SOURCE, [{ type: STOCK_REJECTED, subject: order.orderId, data }]);
        await tx.execute(outbox.sql, outbox.params);
        return { outcome: 'rejected', productIds: short };
      }

      const now = new Date();
      const reservation = reservationView({
        id: randomUUID(),
        orderId: order.orderId,
        userId: order.userId,
        status: ReservationStatus.HELD,
        lines,
        expiresAt: new Date(now.getTime() + this.options.ttlSeconds * 1000),
        createdAt: now,
        updatedAt: now,
      });
      const events: OutboxInsert[] = [];
      const movements = lines.map((line) => this.move(levels.get(line.productId)!, { onHand: 0, reserved: line.quantity }, reservation, `order ${order.orderId} reserved`, events));
      const reserved: StockReservedData = { orderId: order.orderId, reservationId: reservation.id, expiresAt: reservation.expiresAt.toISOString() };
      events.push({ type: STOCK_RESERVED, subject: order.orderId, data: reserved });
      await writeStockStep(tx, {
        levels: lines.map((line) => levels.get(line.productId)!),
        movements,
        reservationId: reservation.id,
        reservation: {
          sql: `insert into "reservation" ("id", "order_id", "user_id", "status", "lines", "expires_at", "created_at", "updated_at") values (?, ?, ?, ?, ?::jsonb, ?, ?, ?)`,
          params: [reservation.id, reservation.orderId, reservation.userId, reservation.status, JSON.stringify(lines), reservation.expiresAt, now, now],
        },
        events,
      });
      // After commit, so the level rows are not locked across a Redis call; the sweep expires a reservation whose job was lost.
      await afterCommit(() => this.options.scheduler.schedule({ reservationId: reservation.id, orderId: order.orderId }, this.options.ttlSeconds * 1000));
      return { outcome: 'reserved', reservation };
    });
  }

  /** OrderConfirmed: the held units leave the warehouse (on_hand and reserved drop). Only a HELD reservation commits. */
  commit(em: EntityManager, orderId: string): Promise<SettleResult> {
    return this.settle(em, { orderId }, ReservationStatus.COMMITTED, `order ${orderId} committed`);
  }

  /** OrderCancelled: a HELD reservation gives its units back (reserved drops). */
  release(em: EntityManager, orderId: string, cancelReason: string): Promise<SettleResult> {
    return this.settle(em, { orderId }, ReservationStatus.RELEASED, `order ${orderId} cancelled (${cancelReason.slice(0, 100)}): reservation released`);
  }

  /** The TTL ran out: a still HELD reservation is released and ReservationExpired recorded. Safe to run any number of times. */
  expire(em: EntityManager, reservationId: string): Promise<SettleResult> {
    return this.settle(em, { id: reservationId }, ReservationStatus.EXPIRED, null);
  }

  /**
   * Expires up to `limit` HELD reservations past their expiry, each in its own transaction; the
   * backstop for expiry jobs that never ran (lost by Redis, or fired before their reservation committed).
   */
  async expireOverdue(em: EntityManager, limit = 100): Promise<string[]> {
    const rows: { id: string }[] = await em
      .fork()
      .getConnection()
      .execute(`select "id" from "reservation" where "status" = 'HELD' and "expires_at" <= now() order by "expires_at" limit ?`, [limit]);
    const expired: string[] = [];
    for (const { id } of rows) {
      const result = await this.expire(em.fork(), id);
      if (result.outcome === 'expired') expired.push(id);
    }
    return expired;
  }

  /**
   * Moves a HELD reservation to a final status under a row lock on the reservation (then the
   * levels, in product order): of a commit, a release and an expiry racing for one reservation,
   * the first wins and the others find it no longer HELD.
   */
  private settle(em: EntityManager, where: { orderId: string } | { id: string }, to: ReservationStatus, reason: string | null): Promise<SettleResult> {
    return withinTransaction(em, async (tx): Promise<SettleResult> => {
      // Raw SQL: lock the reservation, lock its levels, write everything in one statement.
      const [row]: { id: string; order_id: string; user_id: string; status: ReservationStatus; lines: ReservationLine[]; expires_at: Date; created_at: Date; updated_at: Date }[] = await tx.execute(
        `select "id", "order_id", "user_id", "status", "lines", "expires_at", "created_at", "updated_at" from "reservation" where ${'orderId' in where ? '"order_id"' : '"id"'} = ? limit 1 for update`,
        ['orderId' in where ? where.orderId : where.id],
      );
      if (!row) return { outcome: 'not-found' };
      const reservation = reservationView({
        id: row.id,
        orderId: row.order_id,
        userId: row.user_id,
        status: row.status,
        lines: row.lines,
        expiresAt: new Date(row.expires_at),
        createdAt: new Date(row.created_at),
        updatedAt: new Date(row.updated_at),
      });
      if (reservation.status !== ReservationStatus.HELD) return { outcome: 'not-held', reservation };

      const text = reason ?? `order ${reservation.orderId}: reservation expired`;
      const { levels } = await lockLevelRows(tx, reservation.lines.map((line) => line.productId));
      const events: OutboxInsert[] = [];
      const movements = reservation.lines.map((line) => {
        const level = levels.get(line.productId);
        if (!level) throw new Error(`reservation ${reservation.id} holds ${line.quantity} of product ${line.productId}, which has no stock level`);
        const onHand = to === ReservationStatus.COMMITTED ? -line.quantity : 0;
        return this.move(level, { onHand, reserved: -line.quantity }, reservation, text, events);
      });
      const now = new Date();
      reservation.status = to;
      reservation.updatedAt = now;
      if (to === ReservationStatus.EXPIRED) {
        const data: ReservationExpiredData = { orderId: reservation.orderId, reservationId: reservation.id };
        events.push({ type: RESERVATION_EXPIRED, subject: reservation.orderId, data });
      }
      await writeStockStep(tx, {
        levels: [...new Set(reservation.lines.map((line) => line.productId))].map((productId) => levels.get(productId)!),
        movements,
        reservationId: reservation.id,
        reservation: { sql: `update "reservation" set "status" = ?, "updated_at" = ? where "id" = ?`, params: [to, now, reservation.id] },
        events,
      });
      const outcome = to === ReservationStatus.COMMITTED ? 'committed' : to === ReservationStatus.RELEASED ? 'released' : 'expired';
      return { outcome, reservation };
    });
  }

  /**
   * Applies a change to a locked level (in memory, written by `writeStockStep`) and returns its ledger
   * row; adds LowStock to `events` when availability crosses the threshold.
   */
  private move(level: LevelRow, change: { onHand: number; reserved: number }, reservation: ReservationEntity, reason: string, events: OutboxInsert[]): MovementRow {
    const previousAvailable = availableOf(level);
    const onHand = level.onHand + change.onHand;
    const reserved = level.reserved + change.reserved;
    if (reserved < 0 || onHand < reserved) {
      // The table's CHECKs would refuse it too; say which reservation broke the books.
      throw new Error(`reservation ${reservation.id} would leave product ${level.productId} at ${onHand} on hand and ${reserved} reserved`);
    }
    level.onHand = onHand;
    level.reserved = reserved;
    const available = availableOf(level);
    if (crossesIntoLowStock(previousAvailable, available, level.lowStockThreshold)) {
      const data: LowStockData = { productId: level.productId, onHand, reserved, available, previousAvailable, lowStockThreshold: level.lowStockThreshold };
      events.push({ type: LOW_STOCK_EVENT, subject: level.productId, data });
    }
    return { productId: level.productId, delta: change.onHand, reservedDelta: change.reserved, onHandAfter: onHand, reservedAfter: reserved, reason };
  }
}
