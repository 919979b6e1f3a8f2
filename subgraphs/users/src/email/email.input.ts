import { IsEmail, IsOptional, MaxLength } from 'class-validator';
import { Field, InputType } from 'type-graphql';
import { EMAIL_MAX_LENGTH } from '../auth/auth.input';

@InputType('RequestEmailChangeInput')
export class RequestEmailChangeInput {
  @Field(() => String)
  @MaxLength(EMAIL_MAX_LENGTH)
  @IsEmail({}, { message: 'newEmail must be a valid email address' })
  newEmail!: string;

  /** The account's password, asked again: a stolen access token alone cannot move the account to another mailbox. */
  @Field(() => String)
  @MaxLength(1_000)
  password!: string;

  @Field(() => String, { nullable: true, description: 'The current 6-digit code, required when two-factor sign-in is active.' })
  @IsOptional()
  @MaxLength(12)
  totp?: string | null;
}
