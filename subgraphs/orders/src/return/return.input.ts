import { ArrayMaxSize, ArrayMinSize, IsInt, IsNotEmpty, IsOptional, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { MAX_LINE_QUANTITY } from '../cart/cart.input';
import { MAX_PRODUCT_ID_LENGTH } from '../shared/ids';
import { ReturnStatus } from './return.entity';

export const MAX_RETURN_REASON_LENGTH = 500;
export const MAX_RETURN_LINES = 50;
const NOT_BLANK = /\S/;

@InputType('ReturnLineInput')
export class ReturnLineInput {
  @Field(() => ID)
  @IsNotEmpty({ message: 'productId must not be empty' })
  @MaxLength(MAX_PRODUCT_ID_LENGTH)
  productId!: string;

  @Field(() => Int)
  @IsInt()
  @Min(1, { message: 'quantity must be at least 1' })
  @Max(MAX_LINE_QUANTITY, { message: `quantity must be at most ${MAX_LINE_QUANTITY}` })
  quantity!: number;
}

@ArgsType()
export class RequestReturnArgs {
  @Field(() => ID)
  orderId!: string;

  @Field(() => [ReturnLineInput])
  @ArrayMinSize(1, { message: 'lines must name at least one product' })
  @ArrayMaxSize(MAX_RETURN_LINES)
  @ValidateNested({ each: true })
  lines!: ReturnLineInput[];

  @Field(() => String)
  @Matches(NOT_BLANK, { message: 'reason must not be blank' })
  @MaxLength(MAX_RETURN_REASON_LENGTH, { message: `reason must be at most ${MAX_RETURN_REASON_LENGTH} characters` })
  reason!: string;
}

@ArgsType()
export class RejectReturnArgs {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true, description: 'Why, for the customer.' })
  @IsOptional()
  @MaxLength(MAX_RETURN_REASON_LENGTH, { message: `reason must be at most ${MAX_RETURN_REASON_LENGTH} characters` })
  reason?: string | null;
}

@ArgsType()
export class ReturnRequestsArgs {
  @Field(() => ReturnStatus, { nullable: true, defaultValue: ReturnStatus.REQUESTED })
  status?: ReturnStatus | null;

  @Field(() => Int, { nullable: true, description: 'Oldest first; how many (default 50, at most 100).' })
  @IsOptional()
  @Min(1)
  @Max(100)
  first?: number | null;
}
