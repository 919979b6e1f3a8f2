import { BigIntType, Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/** One line of the stock ledger: every change of `on_hand`, who made it and why. Rows are never updated. */
@Entity({ tableName: 'stock_movement' })
@Index({ properties: ['productId', 'id'] })
export class StockMovementEntity {
  /** Identity column: ordering by id is the order in which changes to a product were applied. */
  @PrimaryKey({ type: new BigIntType('string'), autoincrement: true })
  id!: string;

  @Property({ type: 'string', length: 100 })
  productId!: string;

  @Property({ type: 'integer' })
  delta!: number;

  @Property({ type: 'string', length: 500 })
  reason!: string;

  @Property({ type: 'integer' })
  onHandAfter!: number;

  /** The user who made the change (`seed` for seeded stock). */
  @Property({ type: 'string', length: 100 })
  actorId!: string;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}
