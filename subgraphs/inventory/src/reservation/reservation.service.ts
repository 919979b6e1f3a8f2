import { randomUUID } from 'node:crypto';
import { LockMode, QueryOrder } from '@mikro-orm/core';
import type { EntityManager } from '../../../kit/src';
import { availableOf, StockLevelEntity } from '../stock/stock-level.entity';
import { StockMovementEntity } from '../stock/stock-movement.entity';
import { crossesIntoLowStock, recordLowStock } from '../stock/stock.events';
import { ReservationEntity, ReservationStatus, type ReservationLine } from './reservation.entity';
import { recordReservationExpired, recordStockRejected, recordStockReserved, type OrderLine } from './reservation.events';

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
      const existing = await tx.findOne(ReservationEntity, { orderId: order.orderId });
      if (existing) return { outcome: 'duplicate', reservation: existing };

      const lines = goodLines(order.lines);
      const levels = await lockLevels(tx, lines.map((line) => line.productId));
      const short = lines
        .filter((line) => {
          const level = levels.get(line.productId);
          return !level || availableOf(level) < line.quantity;
        })
        .map((line) => line.productId);
      if (short.length > 0) {
        recordStockRejected(tx, { orderId: order.orderId, reason: 'OUT_OF_STOCK', productIds: short });
        return { outcome: 'rejected', productIds: short };
      }

      const now = new Date();
      const reservation = tx.create(ReservationEntity, {
        id: randomUUID(),
        orderId: order.orderId,
        userId: order.userId,
        status: ReservationStatus.HELD,
        lines,
        expiresAt: new Date(now.getTime() + this.options.ttlSeconds * 1000),
        createdAt: now,
        updatedAt: now,
      });
      tx.persist(reservation);
      for (const line of lines) {
        this.move(tx, levels.get(line.productId)!, { onHand: 0, reserved: line.quantity }, reservation, `order ${order.orderId} reserved`);
      }
      recordStockReserved(tx, { orderId: order.orderId, reservationId: reservation.id, expiresAt: reservation.expiresAt.toISOString() });
      await tx.flush();
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
      const reservation = await tx.findOne(ReservationEntity, where, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      if (!reservation) return { outcome: 'not-found' };
      if (reservation.status !== ReservationStatus.HELD) return { outcome: 'not-held', reservation };

      const text = reason ?? `order ${reservation.orderId}: reservation expired`;
      const levels = await lockLevels(tx, reservation.lines.map((line) => line.productId));
      for (const line of reservation.lines) {
        const level = levels.get(line.productId);
        if (!level) throw new Error(`reservation ${reservation.id} holds ${line.quantity} of product ${line.productId}, which has no stock level`);
        const onHand = to === ReservationStatus.COMMITTED ? -line.quantity : 0;
        this.move(tx, level, { onHand, reserved: -line.quantity }, reservation, text);
      }
      reservation.status = to;
      reservation.updatedAt = new Date();
      if (to === ReservationStatus.EXPIRED) recordReservationExpired(tx, { orderId: reservation.orderId, reservationId: reservation.id });
      const outcome = to === ReservationStatus.COMMITTED ? 'committed' : to === ReservationStatus.RELEASED ? 'released' : 'expired';
      return { outcome, reservation };
    });
  }

  /** Applies a change to a locked level with its ledger row, and records LowStock when availability crosses the threshold. */
  private move(tx: EntityManager, level: StockLevelEntity, change: { onHand: number; reserved: number }, reservation: ReservationEntity, reason: string): void {
    const previousAvailable = availableOf(level);
    const onHand = level.onHand + change.onHand;
    const reserved = level.reserved + change.reserved;
    if (reserved < 0 || onHand < reserved) {
      // The table's CHECKs would refuse it too; say which reservation broke the books.
      throw new Error(`reservation ${reservation.id} would leave product ${level.productId} at ${onHand} on hand and ${reserved} reserved`);
    }
    level.onHand = onHand;
    level.reserved = reserved;
    level.updatedAt = new Date();
    tx.persist(
      tx.create(StockMovementEntity, {
        productId: level.productId,
        delta: change.onHand,
        reservedDelta: change.reserved,
        onHandAfter: onHand,
        reservedAfter: reserved,
        reservationId: reservation.id,
        reason,
        actorId: RESERVATION_ACTOR_ID,
        createdAt: new Date(),
      }),
    );
    const available = availableOf(level);
    if (crossesIntoLowStock(previousAvailable, available, level.lowStockThreshold)) {
      recordLowStock(tx, { productId: level.productId, onHand, reserved, available, previousAvailable, lowStockThreshold: level.lowStockThreshold });
    }
  }
}
