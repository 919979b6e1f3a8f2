import { IsInt, Length, Matches, Max, Min } from 'class-validator';
import { ArgsType, Field, ID, Int } from 'type-graphql';
import { UUID_PATTERN } from '../shared/ids';

@ArgsType()
export class AddReviewArgs {
  @Field(() => ID)
  @Matches(UUID_PATTERN, { message: 'productId must be a UUID' })
  productId!: string;

  @Field(() => Int, { description: '1 to 5.' })
  @IsInt()
  @Min(1, { message: 'rating must be between 1 and 5' })
  @Max(5, { message: 'rating must be between 1 and 5' })
  rating!: number;

  @Field(() => String, { description: '1 to 2000 characters.' })
  @Length(1, 2000)
  @Matches(/\S/, { message: 'text must not be blank' })
  text!: string;
}
