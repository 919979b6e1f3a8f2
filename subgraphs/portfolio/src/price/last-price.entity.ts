import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** The latest price seen of an instrument (ticks and fills), written in batches so a restart starts valued. */
@Entity({ tableName: 'last_price' })
export class LastPriceEntity {
  @PrimaryKey({ type: 'string', length: 40 })
  symbol!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  price!: string;

  @Property({ type: 'datetime' })
  observedAt!: Date;
}
