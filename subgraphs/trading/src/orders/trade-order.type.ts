import { Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PageInfo } from '../shared/connection.type';
import { Decimal, plain, plainOrNull } from '../shared/decimal';
import type { FillEntity, TradeOrderHistoryEntity } from './trade-order.entity';
import { Liquidity, OcoRole, TradeOrderStatus, TradeOrderType, TradeSide, type TradeOrderRecord } from './trade-order.model';

export enum ExecutionModeEnum {
  NATIVE = 'NATIVE',
  EMULATED = 'EMULATED',
}

registerEnumType(ExecutionModeEnum, {
  name: 'ExecutionMode',
  description: 'NATIVE: the exchange runs the order type itself. EMULATED: our engine watches the market feed and sends simpler orders when it triggers.',
});

@ObjectType('Fill', { description: 'One execution of a trade order. Decimal strings.' })
export class Fill {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  price!: string;

  @Field(() => String)
  quantity!: string;

  @Field(() => String)
  fee!: string;

  @Field(() => String, { description: 'The asset the fee was charged in (the quote asset on paper).' })
  feeCurrency!: string;

  @Field(() => Liquidity)
  liquidity!: Liquidity;

  @Field(() => Date)
  executedAt!: Date;
}

@ObjectType('TradeOrderHistoryEntry', { description: 'One step of a trade order: a status change or a fill.' })
export class TradeOrderHistoryEntry {
  @Field(() => TradeOrderStatus)
  status!: TradeOrderStatus;

  @Field(() => String)
  filledQuantity!: string;

  @Field(() => String, { nullable: true })
  reason!: string | null;

  @Field(() => Date)
  at!: Date;
}

/** A trade order; `account`, `instrument`, `fills`, `history`, `exitOrders` and `user` are field resolvers. */
@ObjectType('TradeOrder', { description: 'Only its owner sees a trade order. Prices and quantities are decimal strings.' })
@Directive('@key(fields: "id")')
export class TradeOrder {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: 'The client\'s idempotency key: the same key twice places one order.' })
  clientOrderId!: string;

  @Field(() => ID)
  accountId!: string;

  @Field(() => String)
  symbol!: string;

  @Field(() => TradeSide)
  side!: TradeSide;

  @Field(() => TradeOrderType)
  type!: TradeOrderType;

  @Field(() => TradeOrderStatus)
  status!: TradeOrderStatus;

  @Field(() => String)
  quantity!: string;

  @Field(() => String)
  filledQuantity!: string;

  @Field(() => String)
  remainingQuantity!: string;

  @Field(() => String, { nullable: true, description: 'Limit price (LIMIT, STOP_LIMIT, ICEBERG, TAKE_PROFIT with a limit).' })
  price!: string | null;

  @Field(() => String, { nullable: true, description: 'Trigger price (STOP_MARKET, STOP_LIMIT, TAKE_PROFIT).' })
  stopPrice!: string | null;

  @Field(() => String, { nullable: true })
  trailingPercent!: string | null;

  @Field(() => String, { nullable: true })
  trailingAmount!: string | null;

  @Field(() => String, { nullable: true, description: 'TRAILING_STOP: the price that starts the trailing; null when it trailed from the start.' })
  activationPrice!: string | null;

  @Field(() => String, { nullable: true, description: 'TRAILING_STOP: where the stop stands now; null before the first price.' })
  currentStopPrice!: string | null;

  @Field(() => String, { nullable: true })
  visibleQuantity!: string | null;

  @Field(() => Int, { nullable: true })
  twapDurationMs!: number | null;

  @Field(() => Int, { nullable: true })
  twapSlices!: number | null;

  @Field(() => String, { nullable: true, description: 'Attached take-profit price: placed with the stop-loss as an OCO pair once this order fills.' })
  takeProfitPrice!: string | null;

  @Field(() => String, { nullable: true, description: 'Attached stop-loss trigger price.' })
  stopLossPrice!: string | null;

  @Field(() => String, { nullable: true, description: 'Average fill price; null before the first fill.' })
  averagePrice!: string | null;

  @Field(() => String, { description: 'Fees paid, valued in the quote asset: a base-asset fee at its fill price, a third asset\'s (BNB) at its last price when known. Each fill keeps its fee as charged.' })
  feeTotal!: string;

  @Field(() => String, { nullable: true, description: 'Why the order was cancelled, rejected or expired, or a note of the engine.' })
  reason!: string | null;

  @Field(() => ExecutionModeEnum)
  execution!: ExecutionModeEnum;

  @Field(() => ID, { nullable: true, description: 'OCO legs: the order whose fill placed them.' })
  parentOrderId!: string | null;

  @Field(() => OcoRole, { nullable: true })
  ocoRole!: OcoRole | null;

  @Field(() => Date, { nullable: true, description: 'When a stop, take-profit or trailing stop triggered.' })
  triggeredAt!: Date | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;

  /** Not fields: the owner and the OCO group, for access checks and resolvers. */
  userId!: string;
  ocoGroupId!: string | null;
}

@ObjectType('TradeOrderEdge')
export class TradeOrderEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => TradeOrder)
  node!: TradeOrder;
}

@ObjectType('TradeOrderConnection', { description: 'Newest first.' })
export class TradeOrderConnection {
  @Field(() => [TradeOrderEdge])
  edges!: TradeOrderEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

export function toTradeOrder(record: TradeOrderRecord): TradeOrder {
  const order = new TradeOrder();
  order.id = record.id;
  order.clientOrderId = record.clientOrderId;
  order.accountId = record.accountId;
  order.symbol = record.symbol;
  order.side = record.side;
  order.type = record.type;
  order.status = record.status;
  order.quantity = plain(record.quantity);
  order.filledQuantity = plain(record.filledQuantity);
  order.remainingQuantity = plain(Decimal.max(0, new Decimal(record.quantity).minus(record.filledQuantity)));
  order.price = plainOrNull(record.price);
  order.stopPrice = plainOrNull(record.stopPrice);
  order.trailingPercent = plainOrNull(record.trailingPercent);
  order.trailingAmount = plainOrNull(record.trailingAmount);
  order.activationPrice = plainOrNull(record.activationPrice);
  const stop = record.type === TradeOrderType.TRAILING_STOP ? (record.triggerState?.stopPrice as string | null | undefined) : null;
  order.currentStopPrice = plainOrNull(stop ?? null);
  order.visibleQuantity = plainOrNull(record.visibleQuantity);
  order.twapDurationMs = record.twapDurationMs;
  order.twapSlices = record.twapSlices;
  order.takeProfitPrice = plainOrNull(record.exits?.takeProfit ?? null);
  order.stopLossPrice = plainOrNull(record.exits?.stopLoss ?? null);
  order.averagePrice = plainOrNull(record.averagePrice);
  order.feeTotal = plain(record.feeTotal);
  order.reason = record.reason;
  order.execution = record.execution === 'native' ? ExecutionModeEnum.NATIVE : ExecutionModeEnum.EMULATED;
  order.parentOrderId = record.parentId;
  order.ocoRole = record.ocoRole;
  order.triggeredAt = record.triggeredAt;
  order.createdAt = record.createdAt;
  order.updatedAt = record.updatedAt;
  order.userId = record.userId;
  order.ocoGroupId = record.ocoGroupId;
  return order;
}

export const toFill = (row: FillEntity): Fill =>
  Object.assign(new Fill(), {
    id: row.id,
    price: plain(row.price),
    quantity: plain(row.quantity),
    fee: plain(row.fee),
    feeCurrency: row.feeCurrency,
    liquidity: row.liquidity,
    executedAt: row.executedAt,
  });

export const toHistoryEntry = (row: TradeOrderHistoryEntity): TradeOrderHistoryEntry =>
  Object.assign(new TradeOrderHistoryEntry(), { status: row.status, filledQuantity: plain(row.filledQuantity), reason: row.reason, at: row.at });
