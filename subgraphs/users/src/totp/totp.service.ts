import { AppError, conflict, requireViewer, unauthenticated, type RequestContext } from '../../../kit/src';
import type { Clock } from '../clock';
import { UserEntity } from '../users/user.entity';
import type { SecretBox } from './secret-box';
import { generateTotpSecret, totpKeyUri, verifyTotpCode } from './totp-code';
import type { TotpEnrollment } from './totp.type';

export const invalidTotpInput = () => new AppError('BAD_USER_INPUT', 'Invalid two-factor code', { reason: 'TOTP_INVALID', field: 'code' });

export class TotpService {
  constructor(private readonly deps: { clock: Clock; secrets: SecretBox; issuer: string }) {}

  /**
   * Checks `code` against the user's stored secret (pending or active) and returns its time
   * step, or null. The caller persists the step as `totpLastStep` so the code works once.
   */
  checkCode(user: UserEntity, code: string, now: Date): number | null {
    if (!user.totpSecret) return null;
    const secret = this.deps.secrets.open(user.totpSecret, associatedData(user.id));
    return verifyTotpCode(secret, code, now, user.totpLastStep);
  }

  /** Starts (or restarts) enrolment: a new secret, stored encrypted, not active until confirmed. */
  async enroll(ctx: RequestContext): Promise<TotpEnrollment> {
    const user = await this.signedInUser(ctx);
    if (user.totpEnabled) throw conflict('Two-factor sign-in is already active; disable it before enrolling again');
    const secret = generateTotpSecret();
    user.totpSecret = this.deps.secrets.seal(secret, associatedData(user.id));
    user.totpLastStep = null;
    await ctx.em.flush();
    return { secret, otpauthUrl: totpKeyUri(user.email, this.deps.issuer, secret) };
  }

  async confirm(ctx: RequestContext, code: string): Promise<boolean> {
    const user = await this.signedInUser(ctx);
    if (user.totpEnabled) throw conflict('Two-factor sign-in is already active');
    if (!user.totpSecret) throw conflict('No two-factor enrolment to confirm; call enrollTotp first');
    const step = this.checkCode(user, code, this.deps.clock());
    if (step === null) throw invalidTotpInput();
    user.totpEnabled = true;
    user.totpLastStep = step;
    await ctx.em.flush();
    ctx.log.info({ userId: user.id }, 'two-factor sign-in enabled');
    return true;
  }

  async disable(ctx: RequestContext, code: string): Promise<boolean> {
    const user = await this.signedInUser(ctx);
    if (!user.totpEnabled) throw conflict('Two-factor sign-in is not active');
    if (this.checkCode(user, code, this.deps.clock()) === null) throw invalidTotpInput();
    user.totpEnabled = false;
    user.totpSecret = null;
    user.totpLastStep = null;
    await ctx.em.flush();
    ctx.log.info({ userId: user.id }, 'two-factor sign-in disabled');
    return true;
  }

  private async signedInUser(ctx: RequestContext): Promise<UserEntity & { email: string }> {
    const viewer = requireViewer(ctx.viewer);
    const user = await ctx.em.findOne(UserEntity, { id: viewer.id, deletedAt: null });
    if (!user?.email) throw unauthenticated('The signed-in account no longer exists');
    return user as UserEntity & { email: string };
  }
}

const associatedData = (userId: string): string => `users:${userId}:totp`;
