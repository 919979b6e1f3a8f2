import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import type { RequestContext } from '../../../kit/src';
import type { UsersServices } from '../services';
import { TotpEnrollment } from './totp.type';

@Resolver(() => TotpEnrollment)
export class TotpResolver {
  constructor(private readonly services: UsersServices) {}

  @Mutation(() => TotpEnrollment, { description: 'Starts two-factor enrolment; active only after confirmTotp.' })
  enrollTotp(@Ctx() ctx: RequestContext): Promise<TotpEnrollment> {
    return this.services.totp.enroll(ctx);
  }

  @Mutation(() => Boolean, { description: 'Activates two-factor sign-in with a current code from the authenticator app.' })
  confirmTotp(@Arg('code', () => String) code: string, @Ctx() ctx: RequestContext): Promise<boolean> {
    return this.services.totp.confirm(ctx, code);
  }

  @Mutation(() => Boolean, { description: 'Turns two-factor sign-in off; needs a current code.' })
  disableTotp(@Arg('code', () => String) code: string, @Ctx() ctx: RequestContext): Promise<boolean> {
    return this.services.totp.disable(ctx, code);
  }
}
