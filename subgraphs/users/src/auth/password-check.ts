import { LockMode } from '@mikro-orm/core';
import { AppError, forbidden, requireViewer, unauthenticated, type EntityManager, type RequestContext } from '../../../kit/src';
import type { TotpService } from '../totp/totp.service';
import { UserEntity } from '../users/user.entity';
import { activeLock, afterFailedLogin, type LockoutPolicy } from './lockout';
import type { PasswordHasher } from './password';

export const invalidCredentials = () => new AppError('UNAUTHENTICATED', 'Invalid email or password', { reason: 'INVALID_CREDENTIALS' });
export const totpRequired = () => new AppError('UNAUTHENTICATED', 'A two-factor code is required', { reason: 'TOTP_REQUIRED' });
export const totpInvalid = () => new AppError('UNAUTHENTICATED', 'Invalid two-factor code', { reason: 'TOTP_INVALID' });
export const accountLocked = (until: Date, now: Date) =>
  new AppError('RATE_LIMITED', `Too many failed sign-in attempts; the account is locked until ${until.toISOString()}`, {
    reason: 'ACCOUNT_LOCKED',
    lockedUntil: until.toISOString(),
    retryAfterSeconds: Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000)),
  });

/**
 * The checks of every password prompt (sign-in, and what the signed-in user must confirm with their
 * password: deleting the account, a new password, a new email), with one lockout for all of them.
 */
export class PasswordCheck {
  constructor(private readonly deps: { passwords: PasswordHasher; totp: TotpService; lockout: LockoutPolicy }) {}

  /** The signed-in user's own account, for what only they may do in person (not with a token from an API key). */
  async accountInPerson(ctx: RequestContext, what: 'deleted' | 'changed'): Promise<UserEntity> {
    const viewer = requireViewer(ctx.viewer);
    if (viewer.apiKeyId) throw forbidden(`An account cannot be ${what} with a token obtained from an API key`);
    const found = await ctx.em.findOne(UserEntity, { id: viewer.id, deletedAt: null });
    if (!found) throw unauthenticated('The signed-in account no longer exists');
    return found;
  }

  /**
   * Before the prompt's transaction: the lock, then the password (a wrong one counts towards the
   * lockout), then that a two-factor code came when one is due; the code itself is checked in the
   * transaction (`acceptCode`), which records the step it used.
   */
  async verifyPassword(ctx: RequestContext, user: UserEntity, password: string, totp: string | null | undefined, now: Date): Promise<void> {
    const lockedUntil = activeLock(user, now);
    if (lockedUntil) throw accountLocked(lockedUntil, now);
    if (!(await this.deps.passwords.verify(user.passwordHash, password))) {
      await ctx.em.transactional(async (tx) => this.recordFailure(ctx, tx, user.id, now));
      throw invalidCredentials();
    }
    if (user.totpEnabled && !totp) throw totpRequired();
  }

  /**
   * In the transaction that holds the user's row: true when two-factor sign-in is off or `totp` is a
   * valid code, whose step is then spent; a wrong code counts towards the lockout.
   */
  async acceptCode(ctx: RequestContext, tx: EntityManager, user: UserEntity, totp: string | null | undefined, now: Date): Promise<boolean> {
    if (!user.totpEnabled) return true;
    const step = this.deps.totp.checkCode(user, totp ?? '', now);
    if (step === null) {
      await this.recordFailure(ctx, tx, user.id, now);
      return false;
    }
    user.totpLastStep = step;
    return true;
  }

  private async recordFailure(ctx: RequestContext, tx: EntityManager, userId: string, now: Date): Promise<void> {
    const user = await tx.findOneOrFail(UserEntity, { id: userId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    const next = afterFailedLogin(user, this.deps.lockout, now);
    user.failedLoginCount = next.failedLoginCount;
    user.lockedUntil = next.lockedUntil;
    if (next.lockedNow) ctx.log.warn({ userId, lockedUntil: next.lockedUntil }, 'account locked after repeated failed sign-ins');
  }
}
