import { Directive, Field, ID, Int, ObjectType } from 'type-graphql';
import { PageInfo } from '../shared/connection.type';
import { Money } from '../shared/money.type';
import { Product } from '../product/product.type';
import { CancelReason, OrderStatus } from './order-state';
import type { OrderEntity, OrderHistoryEntity, OrderLineEntity } from './order.entity';

@ObjectType('OrderLine', { description: 'A product of an order at the price it had at checkout.' })
export class OrderLine {
  @Field(() => Product)
  product!: Product;

  @Field(() => Int)
  quantity!: number;

  @Field(() => Money)
  unitPrice!: Money;

  @Field(() => Money, { description: 'unitPrice × quantity.' })
  lineTotal!: Money;
}

@ObjectType('OrderHistoryEntry', { description: 'One step of an order: a status change, or a note (such as a late payment) under the current status.' })
export class OrderHistoryEntry {
  @Field(() => OrderStatus)
  status!: OrderStatus;

  @Field(() => Date)
  at!: Date;

  @Field(() => String, { nullable: true })
  reason!: string | null;
}

/** An order; `lines`, `history` and `user` are field resolvers. */
@ObjectType('Order', { description: 'Only its owner and ADMINs see an order.' })
@Directive('@key(fields: "id")')
export class Order {
  @Field(() => ID)
  id!: string;

  @Field(() => OrderStatus)
  status!: OrderStatus;

  @Field(() => CancelReason, { nullable: true, description: 'Set when status is CANCELLED.' })
  cancelReason!: CancelReason | null;

  @Field(() => Money)
  total!: Money;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => String, { nullable: true, description: 'Set when the goods were shipped.' })
  trackingNumber!: string | null;

  /** Not a field: the owner, for `user` and access checks. */
  userId!: string;
}

@ObjectType('OrderEdge')
export class OrderEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Order)
  node!: Order;
}

@ObjectType('OrderConnection', { description: 'Newest first.' })
export class OrderConnection {
  @Field(() => [OrderEdge])
  edges!: OrderEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

export function toOrder(entity: OrderEntity): Order {
  const order = new Order();
  order.id = entity.id;
  order.status = entity.status;
  order.cancelReason = entity.cancelReason;
  order.total = { amount: entity.totalAmount, currency: entity.currency };
  order.createdAt = entity.createdAt;
  order.trackingNumber = entity.trackingNumber;
  order.userId = entity.userId;
  return order;
}

export const toOrderLine = (line: OrderLineEntity): OrderLine => ({
  product: { id: line.productId },
  quantity: line.quantity,
  unitPrice: { amount: line.unitAmount, currency: line.currency },
  lineTotal: { amount: line.unitAmount * line.quantity, currency: line.currency },
});

export const toHistoryEntry = (entry: OrderHistoryEntity): OrderHistoryEntry => ({ status: entry.status, at: entry.at, reason: entry.reason });
