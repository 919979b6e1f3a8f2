import { Field, Int, ObjectType } from 'type-graphql';
import { Product } from '../sales/product.type';

@ObjectType('LowStockAlert', { description: "A good's availability fell to or below its low-stock threshold (inventory's LowStock)." })
export class LowStockAlert {
  @Field(() => Product)
  product!: Product;

  @Field(() => Int, { nullable: true, description: 'Units available right after the change; null when the event did not say.' })
  available!: number | null;

  @Field(() => Int, { nullable: true, description: 'The threshold crossed; null when the event did not say.' })
  lowStockThreshold!: number | null;

  @Field(() => Date)
  occurredAt!: Date;
}
