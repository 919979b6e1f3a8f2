import { IsNotEmpty, IsInt, Max, MaxLength, Min } from 'class-validator';
import { ArgsType, Field, ID, Int } from 'type-graphql';
import { MAX_PRODUCT_ID_LENGTH } from '../shared/ids';

export const MAX_LINE_QUANTITY = 100;

@ArgsType()
export class AddToCartArgs {
  @Field(() => ID)
  @IsNotEmpty({ message: 'productId must not be empty' })
  @MaxLength(MAX_PRODUCT_ID_LENGTH, { message: `productId must be at most ${MAX_PRODUCT_ID_LENGTH} characters` })
  productId!: string;

  @Field(() => Int, { description: `Units to add, 1..${MAX_LINE_QUANTITY}; added to what the cart already holds (at most ${MAX_LINE_QUANTITY} per product).` })
  @IsInt()
  @Min(1, { message: 'quantity must be at least 1' })
  @Max(MAX_LINE_QUANTITY, { message: `quantity must be at most ${MAX_LINE_QUANTITY}` })
  quantity!: number;
}

@ArgsType()
export class UpdateCartLineArgs {
  @Field(() => ID)
  @IsNotEmpty({ message: 'productId must not be empty' })
  @MaxLength(MAX_PRODUCT_ID_LENGTH, { message: `productId must be at most ${MAX_PRODUCT_ID_LENGTH} characters` })
  productId!: string;

  @Field(() => Int, { description: `The new quantity, 0..${MAX_LINE_QUANTITY}; 0 removes the line.` })
  @IsInt()
  @Min(0, { message: 'quantity must not be negative' })
  @Max(MAX_LINE_QUANTITY, { message: `quantity must be at most ${MAX_LINE_QUANTITY}` })
  quantity!: number;
}

@ArgsType()
export class RemoveCartLineArgs {
  @Field(() => ID)
  @IsNotEmpty({ message: 'productId must not be empty' })
  @MaxLength(MAX_PRODUCT_ID_LENGTH, { message: `productId must be at most ${MAX_PRODUCT_ID_LENGTH} characters` })
  productId!: string;
}
