import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Units of one product (a GOOD) held in the warehouse. `reserved` units are promised to orders;
 * `on_hand - reserved` is what can still be sold. The table's CHECK constraints keep
 * `reserved >= 0` and `on_hand >= reserved`, so availability is never negative.
 */
@Entity({ tableName: 'stock_level' })
export class StockLevelEntity {
  /** The catalog's product id; catalog owns product existence, inventory only keeps counts. */
  @PrimaryKey({ type: 'string', length: 100 })
  productId!: string;

  @Property({ type: 'integer' })
  onHand: number = 0;

  @Property({ type: 'integer' })
  reserved: number = 0;

  @Property({ type: 'integer' })
  lowStockThreshold!: number;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}

/** Units that can still be sold; never negative. */
export const availableOf = (level: { onHand: number; reserved: number }): number => Math.max(0, level.onHand - level.reserved);
