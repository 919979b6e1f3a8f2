import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import type { UsersServices } from '../services';
import { ChangePasswordInput, DeleteAccountInput, LoginInput, RegisterInput, ResetPasswordInput } from './auth.input';
import { AuthPayload } from './auth.type';

@Resolver(() => AuthPayload)
export class AuthResolver {
  constructor(private readonly services: UsersServices) {}

  @Mutation(() => AuthPayload)
  register(@Arg('input', () => RegisterInput) input: RegisterInput, @Ctx() ctx: RequestContext): Promise<AuthPayload> {
    return this.services.auth.register(ctx, input);
  }

  @Mutation(() => AuthPayload)
  login(@Arg('input', () => LoginInput) input: LoginInput, @Ctx() ctx: RequestContext): Promise<AuthPayload> {
    return this.services.auth.login(ctx, input);
  }

  @Mutation(() => AuthPayload, { description: 'Exchanges a refresh token for new tokens; the presented token stops working.' })
  refreshToken(@Arg('refreshToken', () => String) refreshToken: string, @Ctx() ctx: RequestContext): Promise<AuthPayload> {
    return this.services.auth.refresh(ctx, refreshToken);
  }

  @Mutation(() => Boolean, { description: 'Revokes every refresh token of this sign-in; false when the token is unknown.' })
  logout(@Arg('refreshToken', () => String) refreshToken: string, @Ctx() ctx: RequestContext): Promise<boolean> {
    return this.services.auth.logout(ctx, refreshToken);
  }

  @Mutation(() => Boolean, {
    description: 'Mails a one-time link to reset the password of the account with this email, if there is one. Always true: the answer does not tell who has an account.',
  })
  requestPasswordReset(@Arg('email', () => String) email: string, @Ctx() ctx: RequestContext): Promise<boolean> {
    return this.services.auth.requestPasswordReset(ctx, email);
  }

  @Mutation(() => AuthPayload, { description: 'Sets a new password with the token of a reset link, once. Every session ends; the answer signs this client in.' })
  resetPassword(@Arg('input', () => ResetPasswordInput) input: ResetPasswordInput, @Ctx() ctx: RequestContext): Promise<AuthPayload> {
    return this.services.auth.resetPassword(ctx, input);
  }

  @Mutation(() => AuthPayload, {
    description: 'Sets a new password after checking the current one (and two-factor code) again. Every session ends; the answer signs this client in anew.',
  })
  changePassword(@Arg('input', () => ChangePasswordInput) input: ChangePasswordInput, @Ctx() ctx: RequestContext): Promise<AuthPayload> {
    return this.services.auth.changePassword(ctx, input);
  }

  @Mutation(() => Boolean, {
    description:
      'Deletes the signed-in account after checking its password (and two-factor code) again. Every subgraph then erases what it holds of the user; orders, payments and trades are kept as accounting records.',
  })
  deleteAccount(@Arg('input', () => DeleteAccountInput) input: DeleteAccountInput, @Ctx() ctx: RequestContext): Promise<boolean> {
    return this.services.auth.deleteAccount(ctx, input);
  }
}
