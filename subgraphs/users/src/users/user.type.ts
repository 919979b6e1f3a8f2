import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import type { Role, Viewer } from '../../../kit/src';
import { PageInfo } from '../shared/connection.type';
import type { UserEntity } from './user.entity';

/** GraphQL enum `Role`; values match the kit's `ROLES`. */
export const RoleEnum = { CUSTOMER: 'CUSTOMER', TRADER: 'TRADER', ADMIN: 'ADMIN', PARTNER: 'PARTNER' } as const satisfies Record<Role, Role>;
registerEnumType(RoleEnum, { name: 'Role', description: 'What a user may do; new registrations are CUSTOMER.' });

@ObjectType('User', { description: 'A Mercado account. Private fields are null unless the viewer is this user or an ADMIN.' })
@Directive('@key(fields: "id")')
export class User {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true, description: 'Only for the user themself and ADMINs; null for anyone else.' })
  email!: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Whether a mailed link proved the user reads `email`; only for the user themself and ADMINs.' })
  emailVerified!: boolean | null;

  @Field(() => String)
  name!: string;

  @Field(() => RoleEnum)
  role!: Role;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => String, { nullable: true, description: 'Plan code (FREE, PRO, PREMIUM…), set by plan purchases; only for the user themself and ADMINs.' })
  plan!: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Whether two-factor sign-in is active; only for the user themself and ADMINs.' })
  totpEnabled!: boolean | null;

  @Field(() => Date, { nullable: true, description: 'When the account was deleted (its name is then "Deleted user"); only for ADMINs.' })
  deletedAt!: Date | null;
}

@ObjectType('UserEdge')
export class UserEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => User)
  node!: User;
}

@ObjectType('UserConnection', { description: 'Newest first.' })
export class UserConnection {
  @Field(() => [UserEdge])
  edges!: UserEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

/** May `viewer` see the private fields of `userId`? Only the user and ADMINs. */
export const canSeePrivateFields = (viewer: Viewer | null, userId: string): boolean => viewer !== null && (viewer.id === userId || viewer.role === 'ADMIN');

/** The only way an entity becomes a GraphQL `User`: private fields are decided here, per viewer. */
export function toUser(entity: UserEntity, access: { viewer: Viewer | null } | { self: true }): User {
  const visible = 'self' in access ? true : canSeePrivateFields(access.viewer, entity.id);
  const user = new User();
  user.id = entity.id;
  user.email = visible ? entity.email : null;
  user.emailVerified = visible ? entity.emailVerifiedAt !== null : null;
  user.name = entity.name;
  user.role = entity.role;
  user.createdAt = entity.createdAt;
  user.totpEnabled = visible ? entity.totpEnabled : null;
  user.plan = visible ? entity.plan : null;
  user.deletedAt = 'viewer' in access && access.viewer?.role === 'ADMIN' ? entity.deletedAt : null;
  return user;
}
