import { IsIn, IsUUID } from 'class-validator';
import { ArgsType, Field, ID } from 'type-graphql';
import { ROLES, type Role } from '../../../kit/src';
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
