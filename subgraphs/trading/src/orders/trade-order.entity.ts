import { BigIntType, Entity, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { AttachedExits, ExecutionMode, Liquidity, OcoRole, TradeOrderRecord, TradeOrderStatus, TradeOrderType, TradeSide } from './trade-order.model';

/**
 * A trade order. Written only by raw SQL in trade-order.store.ts on a row locked with
 * SELECT … FOR UPDATE (the engine, the API and TWAP jobs serialize on it); this entity reads.
 */
@Entity({ tableName: 'trade_order' })
@Unique({ properties: ['userId', 'clientOrderId'] })
@Index({ properties: ['userId', 'createdAt', 'id'] })
export class TradeOrderEntity implements TradeOrderRecord {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'string', length: 100 })
  userId!: string;

  @Property({ type: 'uuid' })
  accountId!: string;

  @Property({ type: 'string', length: 64 })
  clientOrderId!: string;

  @Property({ type: 'string', length: 40 })
  symbol!: string;

  @Property({ type: 'string', length: 20 })
  base!: string;

  @Property({ type: 'string', length: 20 })
  quote!: string;

  @Property({ type: 'string', length: 4 })
  side!: TradeSide;

  @Property({ type: 'string', length: 16 })
  type!: TradeOrderType;

  @Property({ type: 'decimal', columnType: 'numeric' })
  quantity!: string;

  @Property({ type: 'decimal', columnType: 'numeric', nullable: true })
  price!: string | null;

  @Property({ type: 'decimal', columnType: 'numeric', nullable: true })
  stopPrice!: string | null;

  @Property({ type: 'decimal', columnType: 'numeric', nullable: true })
  trailingPercent!: string | null;

  @Property({ type: 'decimal', columnType: 'numeric', nullable: true })
  trailingAmount!: string | null;

  @Property({ type: 'decimal', columnType: 'numeric', nullable: true })
  activationPrice!: string | null;

  @Property({ type: 'decimal', columnType: 'numeric', nullable: true })
  visibleQuantity!: string | null;

  @Property({ type: 'integer', nullable: true })
  twapDurationMs!: number | null;

  @Property({ type: 'integer', nullable: true })
  twapSlices!: number | null;

  @Property({ type: 'json', nullable: true })
  exits!: AttachedExits | null;

  @Property({ type: 'uuid', nullable: true })
  parentId!: string | null;

  @Property({ type: 'uuid', nullable: true })
  ocoGroupId!: string | null;

  @Property({ type: 'string', length: 12, nullable: true })
  ocoRole!: OcoRole | null;

  @Property({ type: 'string', length: 20 })
  status!: TradeOrderStatus;

  @Property({ type: 'decimal', columnType: 'numeric' })
  filledQuantity!: string;

  @Property({ type: 'decimal', columnType: 'numeric', nullable: true })
  averagePrice!: string | null;

  @Property({ type: 'decimal', columnType: 'numeric' })
  feeTotal!: string;

  @Property({ type: 'string', length: 500, nullable: true })
  reason!: string | null;

  @Property({ type: 'string', length: 10 })
  execution!: ExecutionMode;

  @Property({ type: 'json', nullable: true })
  triggerState!: Record<string, unknown> | null;

  @Property({ type: 'string', length: 20, nullable: true })
  reservedAsset!: string | null;

  @Property({ type: 'decimal', columnType: 'numeric' })
  reservedAmount!: string;

  @Property({ type: 'string', length: 100, nullable: true })
  exchangeOrderId!: string | null;

  @Property({ type: 'datetime', length: 3, nullable: true })
  triggeredAt!: Date | null;

  @Property({ type: 'datetime', length: 3, nullable: true })
  triggerTickAt!: Date | null;

  @Property({ type: 'datetime', length: 3 })
  createdAt!: Date;

  @Property({ type: 'datetime', length: 3 })
  updatedAt!: Date;

  @Property({ type: 'datetime', length: 3, nullable: true })
  closedAt!: Date | null;

  @Property({ type: 'integer' })
  version!: number;
}

/** One execution of an order. Never changes. */
@Entity({ tableName: 'fill' })
@Index({ properties: ['orderId', 'executedAt'] })
export class FillEntity {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'uuid' })
  orderId!: string;

  @Property({ type: 'uuid' })
  accountId!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  price!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  quantity!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  fee!: string;

  @Property({ type: 'string', length: 20 })
  feeCurrency!: string;

  @Property({ type: 'string', length: 5 })
  liquidity!: Liquidity;

  @Property({ type: 'string', length: 100, nullable: true })
  exchangeTradeId!: string | null;

  @Property({ type: 'datetime', length: 3 })
  executedAt!: Date;
}

/** One step of an order's life. Rows are never updated. */
@Entity({ tableName: 'trade_order_history' })
@Index({ properties: ['orderId', 'id'] })
export class TradeOrderHistoryEntity {
  @PrimaryKey({ type: new BigIntType('string'), autoincrement: true })
  id!: string;

  @Property({ type: 'uuid' })
  orderId!: string;

  @Property({ type: 'string', length: 20 })
  status!: TradeOrderStatus;

  @Property({ type: 'decimal', columnType: 'numeric' })
  filledQuantity!: string;

  @Property({ type: 'string', length: 500, nullable: true })
  reason!: string | null;

  @Property({ type: 'datetime', length: 3 })
  at!: Date;
}
