import { BigIntType, Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * One line of the stock ledger: every change of `on_hand` or `reserved`, who made it and why.
 * Rows are never updated. An adjustment moves on_hand only; a reservation moves reserved only
 * (`delta` 0); committing a reservation moves both; a restock of returned goods moves on_hand.
 */
@Entity({ tableName: 'stock_movement' })
@Index({ properties: ['productId', 'id'] })
export class StockMovementEntity {
  /** Identity column: ordering by id is the order in which changes to a product were applied. */
  @PrimaryKey({ type: new BigIntType('string'), autoincrement: true })
  id!: string;

  @Property({ type: 'string', length: 100 })
  productId!: string;

  /** Change of on_hand. */
  @Property({ type: 'integer' })
  delta!: number;

  @Property({ type: 'string', length: 500 })
  reason!: string;

  @Property({ type: 'integer' })
  onHandAfter!: number;

  /** Change of reserved (0 for adjustments). */
  @Property({ type: 'integer' })
  reservedDelta: number = 0;

  /** `reserved` after the change; set it on every row, adjustments included. */
  @Property({ type: 'integer' })
  reservedAfter!: number;

  /** The reservation whose hold, commit, release or expiry this row records. */
  @Property({ type: 'uuid', nullable: true })
  reservationId: string | null = null;

  /** The approved return whose goods this row put back on the shelf (unique per product). */
  @Property({ type: 'string', length: 100, nullable: true })
  returnId: string | null = null;

  /** The user who made the change (`seed` for seeded stock, `reservations` for the order saga). */
  @Property({ type: 'string', length: 100 })
  actorId!: string;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}
