import { Entity, Enum, PrimaryKey, Property, Unique } from '@mikro-orm/core';

/**
 * HELD until the order is paid (COMMITTED), cancelled (RELEASED) or the TTL runs out (EXPIRED).
 * Only HELD moves: the three others are final.
 */
export enum ReservationStatus {
  HELD = 'HELD',
  COMMITTED = 'COMMITTED',
  RELEASED = 'RELEASED',
  EXPIRED = 'EXPIRED',
}

/** Units of one product a reservation holds (the order's GOOD lines, one per product). */
export interface ReservationLine {
  productId: string;
  quantity: number;
}

/**
 * The units inventory holds for one order (`order_id` is unique: an order is reserved at most
 * once). An order without goods gets an empty reservation, so every order goes through the same
 * saga steps. While HELD, every line's quantity is counted in its product's `stock_level.reserved`.
 */
@Entity({ tableName: 'reservation' })
export class ReservationEntity {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'string', length: 100 })
  @Unique({ name: 'reservation_order_id_unique' })
  orderId!: string;

  /** The customer who placed the order. */
  @Property({ type: 'string', length: 100 })
  userId!: string;

  @Enum({ items: () => ReservationStatus, type: 'string', length: 20 })
  status: ReservationStatus = ReservationStatus.HELD;

  /** Sorted by product id. */
  @Property({ type: 'json' })
  lines: ReservationLine[] = [];

  /** When a HELD reservation is released by the expiry job (or the sweep) if still unpaid. */
  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
