import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Money } from '../shared/money.type';
import { Product } from '../product/product.type';

@ObjectType('CartLine')
export class CartLine {
  @Field(() => Product)
  product!: Product;

  @Field(() => Int)
  quantity!: number;

  @Field(() => Money, { description: "The product's current price; checkout charges this price." })
  unitPrice!: Money;

  @Field(() => Money, { description: 'unitPrice × quantity.' })
  lineTotal!: Money;
}

@ObjectType('Cart', { description: "The signed-in user's cart; prices are always the current catalog prices." })
export class Cart {
  @Field(() => ID)
  id!: string;

  @Field(() => [CartLine], { description: 'In the order the products were first added.' })
  lines!: CartLine[];

  @Field(() => Money, { description: 'Sum of the lines (0 in the default currency when empty).' })
  total!: Money;
}
