import { Entity, PrimaryKey, Property } from '@mikro-orm/core';
import type { ReservationLine } from '../reservation/reservation.entity';

/**
 * One approved return whose goods went back on the shelf. The return id is the primary key: a
 * return restocks at most once, whatever event (or redelivery under another event id) carries it.
 */
@Entity({ tableName: 'restock' })
export class RestockEntity {
  /** Orders' return id. */
  @PrimaryKey({ type: 'string', length: 100 })
  returnId!: string;

  @Property({ type: 'string', length: 100 })
  orderId!: string;

  /** The GOOD lines put back, one per product, sorted by product id (empty when the return had no goods). */
  @Property({ type: 'json' })
  lines: ReservationLine[] = [];

  /** The ReturnApproved event that restocked it. */
  @Property({ type: 'string', length: 100, nullable: true })
  eventId: string | null = null;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}
