import { IsIn, IsUUID, Matches, MaxLength } from 'class-validator';
import { ArgsType, Field, ID, InputType } from 'type-graphql';
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
