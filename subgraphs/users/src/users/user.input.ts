import { IsIn, IsInt, IsOptional, IsUUID, Length, Matches, Max, MaxLength, Min, ValidateIf, ValidateNested } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { ROLES, type Role } from '../../../kit/src';
import { NAME_MAX_LENGTH } from '../auth/auth.input';
import { RoleEnum } from './user.type';

@ArgsType()
export class SetUserRoleArgs {
  @Field(() => ID)
  @IsUUID('all', { message: 'userId must be a UUID' })
  userId!: string;

  @Field(() => RoleEnum)
  @IsIn([...ROLES])
  role!: Role;
}

@InputType('UpdateProfileInput')
export class UpdateProfileInput {
  @Field(() => String)
  @Matches(/\S/, { message: 'name must not be empty' })
  @MaxLength(NAME_MAX_LENGTH, { message: `name must be at most ${NAME_MAX_LENGTH} characters` })
  name!: string;
}

export const DEFAULT_USERS_PAGE = 50;

@InputType('UsersFilter')
export class UsersFilter {
  @Field(() => String, { nullable: true, description: 'Part of the email or name, any case.' })
  @IsOptional()
  @Length(1, 254)
  search?: string | null;

  @Field(() => RoleEnum, { nullable: true })
  @IsOptional()
  @IsIn([...ROLES])
  role?: Role | null;

  @Field(() => Boolean, { nullable: true, description: 'Deleted accounts instead of live ones (default false).' })
  @IsOptional()
  deleted?: boolean | null;
}

@ArgsType()
export class UsersArgs {
  @Field(() => UsersFilter, { nullable: true })
  @IsOptional()
  @ValidateNested()
  filter?: UsersFilter | null;

  @Field(() => Int, { nullable: true, description: `Page size (default ${DEFAULT_USERS_PAGE}).` })
  @ValidateIf((_args, value) => value !== null && value !== undefined)
  @IsInt()
  @Min(1, { message: 'first must be at least 1' })
  @Max(200, { message: 'first must be at most 200' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'The endCursor of the previous page.' })
  @ValidateIf((_args, value) => value !== null && value !== undefined)
  @Length(1, 256)
  after?: string | null;
}
