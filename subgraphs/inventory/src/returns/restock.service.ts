import { UnrecoverableError } from 'bullmq';
import type { EntityManager } from '../../../kit/src';
import type { ReservationLine } from '../reservation/reservation.entity';
import { goodLines, lockLevels, RESERVATION_ACTOR_ID, withinTransaction } from '../reservation/reservation.service';
import { StockMovementEntity } from '../stock/stock-movement.entity';
import type { ApprovedReturn } from './restock.events';

/** Postgres `int` upper bound: on_hand can never go past it. */
const MAX_ON_HAND = 2_147_483_647;

export interface RestockServiceOptions {
  /** Threshold of a level a restock creates (a returned good that had no level row). */
  lowStockDefaultThreshold: number;
}

export type RestockResult =
  | { outcome: 'restocked'; lines: ReservationLine[] }
  /** The return was restocked already (under this event or another one): nothing changes. */
  | { outcome: 'duplicate' };

/** A restock that can never succeed (on_hand would pass the int range); retrying cannot help. */
export class RestockRefusedError extends UnrecoverableError {
  constructor(message: string) {
    super(message);
    this.name = 'RestockRefusedError';
  }
}

/**
 * Returned goods back on the shelf. Runs in the caller's transaction when it has one (the event
 * consumer's, with the inbox row), else in a new one: the restock record, the levels and the
 * ledger rows commit together.
 */
export class RestockService {
  constructor(private readonly options: RestockServiceOptions) {}

  /**
   * ReturnApproved: raises on_hand by the returned units of every GOOD (quantities of a repeated
   * product added; INDICATOR and PLAN lines ignored), once per return. The `restock` row (keyed by
   * the return id) is inserted first, so a second delivery of the return, under any event id, finds
   * it and changes nothing. Missing levels are created, then the levels are locked in product order
   * (as reservations lock them) and each gets one ledger row `return <returnId> of order <orderId>`.
   */
  async restock(em: EntityManager, approved: ApprovedReturn, meta: { eventId?: string } = {}): Promise<RestockResult> {
    const lines = goodLines(approved.lines);
    return withinTransaction(em, async (tx): Promise<RestockResult> => {
      const inserted: unknown[] = await tx.execute(
        `insert into "restock" ("return_id", "order_id", "lines", "event_id", "created_at") values (?, ?, ?::jsonb, ?, now())
         on conflict ("return_id") do nothing returning "return_id"`,
        [approved.returnId, approved.orderId, JSON.stringify(lines), meta.eventId ?? null],
      );
      if (inserted.length === 0) return { outcome: 'duplicate' };
      if (lines.length === 0) return { outcome: 'restocked', lines };

      await this.createMissingLevels(tx, lines.map((line) => line.productId));
      const levels = await lockLevels(tx, lines.map((line) => line.productId));
      const reason = `return ${approved.returnId} of order ${approved.orderId}`;
      const now = new Date();
      for (const line of lines) {
        const level = levels.get(line.productId);
        if (!level) throw new Error(`stock level of product ${line.productId} missing after it was created`);
        const onHand = level.onHand + line.quantity;
        if (onHand > MAX_ON_HAND) {
          throw new RestockRefusedError(`return ${approved.returnId} would take product ${line.productId} past ${MAX_ON_HAND} units on hand`);
        }
        level.onHand = onHand;
        level.updatedAt = now;
        tx.persist(
          tx.create(StockMovementEntity, {
            productId: line.productId,
            delta: line.quantity,
            reservedDelta: 0,
            onHandAfter: onHand,
            reservedAfter: level.reserved,
            returnId: approved.returnId,
            reason,
            actorId: RESERVATION_ACTOR_ID,
            createdAt: now,
          }),
        );
        // Availability only rises: a restock never crosses into low stock.
      }
      return { outcome: 'restocked', lines };
    });
  }

  /**
   * Gives every product without a level one (0 on hand, the default threshold). One statement that
   * inserts in product-id order (the database's, as `lockLevels` sorts), so two restocks creating the
   * same levels wait for each other instead of deadlocking; existing levels are left alone, unlocked.
   */
  private async createMissingLevels(tx: EntityManager, productIds: readonly string[]): Promise<void> {
    const ids = [...new Set(productIds)];
    await tx.execute(
      `insert into "stock_level" ("product_id", "on_hand", "reserved", "low_stock_threshold", "created_at", "updated_at")
       select "v"."product_id", 0, 0, ?, now(), now() from (values ${ids.map(() => '(?::varchar)').join(', ')}) as "v" ("product_id")
       order by "v"."product_id"
       on conflict ("product_id") do nothing`,
      [this.options.lowStockDefaultThreshold, ...ids],
    );
  }
}
