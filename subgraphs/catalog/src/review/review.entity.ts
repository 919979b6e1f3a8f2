import { randomUUID } from 'node:crypto';
import { Entity, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';

/** One review per user and product (unique index `review_product_author_unique`). */
@Entity({ tableName: 'review' })
@Unique({ name: 'review_product_author_unique', properties: ['productId', 'authorId'] })
export class ReviewEntity {
  [OptionalProps]?: 'id' | 'createdAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  productId!: string;

  /** The users subgraph's user id (token subject). */
  @Property({ type: 'string', length: 100 })
  authorId!: string;

  @Property({ type: 'smallint' })
  rating!: number;

  @Property({ type: 'text' })
  text!: string;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();
}
