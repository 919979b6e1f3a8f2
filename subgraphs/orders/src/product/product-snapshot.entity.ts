import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * What orders knows of a catalog product, kept from catalog's ProductChanged events: enough to
 * price a cart and check out (the price at checkout is always this one, never the client's).
 */
@Entity({ tableName: 'product_snapshot' })
export class ProductSnapshotEntity {
  @PrimaryKey({ type: 'string', length: 100 })
  productId!: string;

  @Property({ type: 'string', length: 100 })
  sku!: string;

  @Property({ type: 'string', length: 16 })
  kind!: string;

  /** Null from events older than names in ProductChanged. */
  @Property({ type: 'string', length: 200, nullable: true })
  name: string | null = null;

  /** Minor units. */
  @Property({ type: 'integer' })
  priceAmount!: number;

  @Property({ type: 'string', length: 3 })
  currency!: string;

  @Property({ type: 'boolean' })
  active!: boolean;

  /** `occurredAt` of the event the row reflects: an older event never overwrites a newer one. */
  @Property({ type: 'datetime', length: 3 })
  sourceOccurredAt!: Date;

  @Property({ type: 'datetime', length: 3 })
  updatedAt: Date = new Date();
}
