import { Arg, Args, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import type { UsersServices } from '../services';
import { SetUserRoleArgs, UpdateProfileInput } from './user.input';
import { User } from './user.type';

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

  @Mutation(() => User, { description: 'ADMIN only.' })
  setUserRole(@Args(() => SetUserRoleArgs) { userId, role }: SetUserRoleArgs, @Ctx() ctx: RequestContext): Promise<User> {
    return this.services.users.setUserRole(ctx, userId, role);
  }
}
