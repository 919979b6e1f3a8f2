import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType('StockLevel', { description: 'Units of a good held in stock.' })
export class StockLevel {
  @Field(() => ID)
  productId!: string;

  @Field(() => Int, { description: 'Units in the warehouse, reserved ones included.' })
  onHand!: number;

  @Field(() => Int, { description: 'Units promised to orders not yet shipped.' })
  reserved!: number;

  @Field(() => Int, { description: 'onHand - reserved: units that can still be sold; never negative.' })
  available!: number;

  @Field(() => Int, { description: 'A LowStock event is emitted when available falls to or below this.' })
  lowStockThreshold!: number;

  @Field(() => Date, { nullable: true, description: 'Last change; null for a good that never had stock.' })
  updatedAt!: Date | null;
}

@ObjectType('StockMovement', { description: 'One line of the stock ledger.' })
export class StockMovement {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  productId!: string;

  @Field(() => Int, { description: 'Change of onHand: positive for stock in, negative for stock out.' })
  delta!: number;

  @Field(() => String)
  reason!: string;

  @Field(() => Int)
  onHandAfter!: number;

  @Field(() => ID, { description: 'The user who made the change.' })
  actorId!: string;

  @Field(() => Date)
  createdAt!: Date;
}
