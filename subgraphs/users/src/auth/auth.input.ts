import { IsEmail, IsOptional, Matches, MaxLength, MinLength } from 'class-validator';
import { Field, InputType } from 'type-graphql';

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 200;
export const NAME_MAX_LENGTH = 100;
export const EMAIL_MAX_LENGTH = 254;

@InputType('RegisterInput')
export class RegisterInput {
  @Field(() => String)
  @MaxLength(EMAIL_MAX_LENGTH)
  @IsEmail({}, { message: 'email must be a valid email address' })
  email!: string;

  @Field(() => String)
  @MinLength(PASSWORD_MIN_LENGTH, { message: `password must be at least ${PASSWORD_MIN_LENGTH} characters` })
  @MaxLength(PASSWORD_MAX_LENGTH, { message: `password must be at most ${PASSWORD_MAX_LENGTH} characters` })
  password!: string;

  @Field(() => String)
  @Matches(/\S/, { message: 'name must not be empty' })
  @MaxLength(NAME_MAX_LENGTH, { message: `name must be at most ${NAME_MAX_LENGTH} characters` })
  name!: string;
}

@InputType('LoginInput')
export class LoginInput {
  @Field(() => String)
  @MaxLength(EMAIL_MAX_LENGTH)
  email!: string;

  /** Bounded so nobody makes us hash megabytes; a wrong length simply fails to match. */
  @Field(() => String)
  @MaxLength(1_000)
  password!: string;

  @Field(() => String, { nullable: true, description: 'The current 6-digit code, required once two-factor sign-in is active.' })
  @IsOptional()
  @MaxLength(12)
  totp?: string | null;
}

@InputType('DeleteAccountInput')
export class DeleteAccountInput {
  /** The account's password, asked again: a stolen access token alone cannot delete an account. */
  @Field(() => String)
  @MaxLength(1_000)
  password!: string;

  @Field(() => String, { nullable: true, description: 'The current 6-digit code, required when two-factor sign-in is active.' })
  @IsOptional()
  @MaxLength(12)
  totp?: string | null;
}

@InputType('ChangePasswordInput')
export class ChangePasswordInput {
  @Field(() => String)
  @MaxLength(1_000)
  currentPassword!: string;

  @Field(() => String)
  @MinLength(PASSWORD_MIN_LENGTH, { message: `newPassword must be at least ${PASSWORD_MIN_LENGTH} characters` })
  @MaxLength(PASSWORD_MAX_LENGTH, { message: `newPassword must be at most ${PASSWORD_MAX_LENGTH} characters` })
  newPassword!: string;

  @Field(() => String, { nullable: true, description: 'The current 6-digit code, required when two-factor sign-in is active.' })
  @IsOptional()
  @MaxLength(12)
  totp?: string | null;
}

@InputType('ResetPasswordInput')
export class ResetPasswordInput {
  @Field(() => String, { description: 'The token of the link mailed by requestPasswordReset.' })
  @MaxLength(100)
  token!: string;

  @Field(() => String)
  @MinLength(PASSWORD_MIN_LENGTH, { message: `newPassword must be at least ${PASSWORD_MIN_LENGTH} characters` })
  @MaxLength(PASSWORD_MAX_LENGTH, { message: `newPassword must be at most ${PASSWORD_MAX_LENGTH} characters` })
  newPassword!: string;

  @Field(() => String, { nullable: true, description: 'The current 6-digit code, required when two-factor sign-in is active.' })
  @IsOptional()
  @MaxLength(12)
  totp?: string | null;
}
