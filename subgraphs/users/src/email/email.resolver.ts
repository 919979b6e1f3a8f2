import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import type { UsersServices } from '../services';
import { User } from '../users/user.type';
import { RequestEmailChangeInput } from './email.input';

@Resolver()
export class EmailResolver {
  constructor(private readonly services: UsersServices) {}

  @Mutation(() => User, {
    description:
      'Opens an email link: verifies the account\'s address, or, for a link from requestEmailChange, makes that address the account\'s. No sign-in needed; a link works once.',
  })
  verifyEmail(@Arg('token', () => String) token: string, @Ctx() ctx: RequestContext): Promise<User> {
    return this.services.email.verify(ctx, token);
  }

  @Mutation(() => Boolean, { description: 'Mails a new verification link to the signed-in user\'s address (at most one a minute).' })
  resendEmailVerification(@Ctx() ctx: RequestContext): Promise<boolean> {
    return this.services.email.resendVerification(ctx);
  }

  @Mutation(() => Boolean, {
    description: 'Mails a link to a new address after checking the password (and two-factor code) again; the address changes when the link is opened.',
  })
  requestEmailChange(@Arg('input', () => RequestEmailChangeInput) input: RequestEmailChangeInput, @Ctx() ctx: RequestContext): Promise<boolean> {
    return this.services.email.requestChange(ctx, input);
  }
}
