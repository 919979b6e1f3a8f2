import { IsInt, IsOptional, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';
import { ArgsType, Field, ID, Int } from 'type-graphql';

export const MAX_REFUND_REASON_LENGTH = 500;
/** Postgres `int`. */
export const MAX_AMOUNT = 2_147_483_647;

@ArgsType()
export class RefundPaymentArgs {
  @Field(() => ID)
  @IsUUID('all', { message: 'paymentId must be a payment id (UUID)' })
  paymentId!: string;

  @Field(() => Int, { description: 'Minor units to give back, at most what is still refundable.' })
  @IsInt({ message: 'amount must be an integer' })
  @Min(1, { message: 'amount must be at least 1' })
  @Max(MAX_AMOUNT, { message: `amount must be at most ${MAX_AMOUNT}` })
  amount!: number;

  @Field(() => String, { nullable: true, description: `Why (at most ${MAX_REFUND_REASON_LENGTH} characters).` })
  @IsOptional()
  @Matches(/\S/, { message: 'reason must not be blank' })
  @MaxLength(MAX_REFUND_REASON_LENGTH, { message: `reason must be at most ${MAX_REFUND_REASON_LENGTH} characters` })
  reason?: string | null;
}
