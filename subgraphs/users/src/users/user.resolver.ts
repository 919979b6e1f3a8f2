import { Arg, Args, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import type { UsersServices } from '../services';
import { SetUserRoleArgs, UpdateProfileInput, UsersArgs } from './user.input';
import { User, UserConnection } from './user.type';

@Resolver(() => User)
export class UserResolver {
  constructor(private readonly services: UsersServices) {}

  @Query(() => User, { nullable: true, description: 'The signed-in user; null when anonymous.' })
  me(@Ctx() ctx: RequestContext): Promise<User | null> {
    return this.services.users.me(ctx);
  }

  @Mutation(() => User, { description: "Changes the signed-in user's profile." })
  updateProfile(@Arg('input', () => UpdateProfileInput) input: UpdateProfileInput, @Ctx() ctx: RequestContext): Promise<User> {
    return this.services.users.updateProfile(ctx, input);
  }

  @Query(() => UserConnection, { description: 'ADMIN only: accounts newest first; deleted ones with filter.deleted.' })
  users(@Args(() => UsersArgs) args: UsersArgs, @Ctx() ctx: RequestContext): Promise<UserConnection> {
    return this.services.users.list(ctx, args);
  }

  @Mutation(() => User, {
    description: "ADMIN only: deletes another user's account as deleteAccount does; not an ADMIN's (change its role first). Answers the tombstone.",
  })
  deleteUser(@Arg('userId', () => ID) userId: string, @Ctx() ctx: RequestContext): Promise<User> {
    return this.services.users.deleteUser(ctx, userId);
  }

  @Mutation(() => User, { description: 'ADMIN only.' })
  setUserRole(@Args(() => SetUserRoleArgs) { userId, role }: SetUserRoleArgs, @Ctx() ctx: RequestContext): Promise<User> {
    return this.services.users.setUserRole(ctx, userId, role);
  }
}
