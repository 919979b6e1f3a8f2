import { randomUUID } from 'node:crypto';
import { Entity, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';

/** A user's cart: one per user, created on first use. Its row is the lock every cart change and checkout takes. */
@Entity({ tableName: 'cart' })
export class CartEntity {
  [OptionalProps]?: 'id' | 'createdAt' | 'updatedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'string', length: 100, unique: true })
  userId!: string;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3 })
  updatedAt: Date = new Date();
}

/** A product in a cart and how many; its price is always the product snapshot's current one. */
@Entity({ tableName: 'cart_line' })
@Unique({ properties: ['cartId', 'productId'] })
export class CartLineEntity {
  [OptionalProps]?: 'id' | 'addedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  cartId!: string;

  @Property({ type: 'string', length: 100 })
  productId!: string;

  @Property({ type: 'integer' })
  quantity!: number;

  @Property({ type: 'datetime', length: 3 })
  addedAt: Date = new Date();
}
