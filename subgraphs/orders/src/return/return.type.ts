import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Product } from '../product/product.type';
import { Money } from '../shared/money.type';
import { ReturnStatus, type OrderReturnEntity } from './return.entity';

registerEnumType(ReturnStatus, { name: 'ReturnStatus', description: 'REQUESTED by the customer, then APPROVED (refund and restock follow) or REJECTED by an ADMIN.' });

@ObjectType('ReturnLine')
export class ReturnLine {
  @Field(() => Product)
  product!: Product;

  @Field(() => Int)
  quantity!: number;
}

@ObjectType('OrderReturn', { description: 'Goods of a fulfilled order the customer sends back.' })
export class OrderReturn {
  @Field(() => ID)
  id!: string;

  @Field(() => ReturnStatus)
  status!: ReturnStatus;

  @Field(() => String)
  reason!: string;

  @Field(() => [ReturnLine])
  lines!: ReturnLine[];

  @Field(() => Money, { description: 'What is refunded once approved: the prices paid for the returned units.' })
  refund!: Money;

  @Field(() => String, { nullable: true, description: "The ADMIN's note on the decision." })
  decisionNote!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  decidedAt!: Date | null;

  /** Not a field: for `order`. */
  orderId!: string;
}

export function toOrderReturn(entity: OrderReturnEntity): OrderReturn {
  const result = new OrderReturn();
  result.id = entity.id;
  result.status = entity.status;
  result.reason = entity.reason;
  result.lines = entity.lines.map((line) => ({ product: { id: line.productId }, quantity: line.quantity }));
  result.refund = { amount: entity.refundAmount, currency: entity.currency };
  result.decisionNote = entity.decisionNote;
  result.createdAt = entity.createdAt;
  result.decidedAt = entity.decidedAt;
  result.orderId = entity.orderId;
  return result;
}
