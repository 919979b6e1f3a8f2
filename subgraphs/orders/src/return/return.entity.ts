import { randomUUID } from 'node:crypto';
import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

export enum ReturnStatus {
  REQUESTED = 'REQUESTED',
  APPROVED = 'APPROVED',
  REJECTED = 'REJECTED',
}

export interface ReturnLineData {
  productId: string;
  quantity: number;
  /** Minor units, the price paid for one unit (from the order line). */
  unitAmount: number;
}

/** A customer's request to send back goods of a fulfilled order; an ADMIN approves or rejects it. */
@Entity({ tableName: 'order_return' })
@Index({ properties: ['orderId', 'createdAt'] })
export class OrderReturnEntity {
  [OptionalProps]?: 'id' | 'decisionNote' | 'decidedBy' | 'createdAt' | 'decidedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid' })
  orderId!: string;

  @Property({ type: 'string', length: 100 })
  userId!: string;

  @Property({ type: 'string', length: 20 })
  status!: ReturnStatus;

  @Property({ type: 'string', length: 500 })
  reason!: string;

  @Property({ type: 'json' })
  lines!: ReturnLineData[];

  /** Minor units: what the customer gets back when the return is approved. */
  @Property({ type: 'integer' })
  refundAmount!: number;

  @Property({ type: 'string', length: 3 })
  currency!: string;

  @Property({ type: 'string', length: 500, nullable: true })
  decisionNote: string | null = null;

  @Property({ type: 'string', length: 100, nullable: true })
  decidedBy: string | null = null;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3, nullable: true })
  decidedAt: Date | null = null;
}
