import { IsNotEmpty, IsOptional, Matches, Max, MaxLength, Min, NotEquals } from 'class-validator';
import { ArgsType, Field, ID, Int } from 'type-graphql';

export const MAX_ADJUSTMENT = 1_000_000;
export const MAX_REASON_LENGTH = 500;
export const MAX_PRODUCT_ID_LENGTH = 100;
export const MAX_THRESHOLD = 1_000_000;

@ArgsType()
export class AdjustStockArgs {
  @Field(() => ID)
  @IsNotEmpty({ message: 'productId must not be empty' })
  @MaxLength(MAX_PRODUCT_ID_LENGTH, { message: `productId must be at most ${MAX_PRODUCT_ID_LENGTH} characters` })
  productId!: string;

  @Field(() => Int, { description: `Units to add (positive) or remove (negative); not 0, at most ${MAX_ADJUSTMENT} either way.` })
  @NotEquals(0, { message: 'delta must not be 0' })
  @Min(-MAX_ADJUSTMENT, { message: `delta must be at least -${MAX_ADJUSTMENT}` })
  @Max(MAX_ADJUSTMENT, { message: `delta must be at most ${MAX_ADJUSTMENT}` })
  delta!: number;

  @Field(() => String, { description: `Why the stock changed, for the ledger (1 to ${MAX_REASON_LENGTH} characters).` })
  @Matches(/\S/, { message: 'reason must not be empty' })
  @MaxLength(MAX_REASON_LENGTH, { message: `reason must be at most ${MAX_REASON_LENGTH} characters` })
  reason!: string;
}

@ArgsType()
export class SetLowStockThresholdArgs {
  @Field(() => ID)
  @IsNotEmpty({ message: 'productId must not be empty' })
  @MaxLength(MAX_PRODUCT_ID_LENGTH, { message: `productId must be at most ${MAX_PRODUCT_ID_LENGTH} characters` })
  productId!: string;

  @Field(() => Int)
  @Min(0, { message: 'threshold must not be negative' })
  @Max(MAX_THRESHOLD, { message: `threshold must be at most ${MAX_THRESHOLD}` })
  threshold!: number;
}

@ArgsType()
export class StockMovementsArgs {
  @Field(() => ID)
  @IsNotEmpty({ message: 'productId must not be empty' })
  @MaxLength(MAX_PRODUCT_ID_LENGTH, { message: `productId must be at most ${MAX_PRODUCT_ID_LENGTH} characters` })
  productId!: string;

  @Field(() => Int, { nullable: true, description: 'Newest first; how many (default 50).' })
  @IsOptional()
  @Min(1, { message: 'first must be at least 1' })
  first?: number;
}
