import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import { AppError, badInput, conflict, recordEvent, unauthenticated, type EntityManager, type RequestContext } from '../../../kit/src';
import type { Clock } from '../clock';
import { UserEntity } from '../users/user.entity';
import { eraseAccount } from '../users/user.erasure';
import { normalizeEmail } from '../users/user.service';
import { toUser } from '../users/user.type';
import type { EmailService } from '../email/email.service';
import type { Mailer } from '../mail/mail.queue';
import { EMAIL_MAX_LENGTH, type ChangePasswordInput, type DeleteAccountInput, type LoginInput, type RegisterInput, type ResetPasswordInput } from './auth.input';
import type { AuthPayload } from './auth.type';
import { activeLock, afterFailedLogin, afterSuccessfulLogin, type LockoutPolicy } from './lockout';
import { accountLocked, invalidCredentials, totpInvalid, totpRequired, type PasswordCheck } from './password-check';
import type { PasswordHasher } from './password';
import { RefreshTokenEntity } from './refresh-token.entity';
import { generateRefreshToken, hashRefreshToken, looksLikeRefreshToken } from './refresh-tokens';
import type { SigningKeys } from './signing-keys';

const resetRefused = (reason: 'RESET_TOKEN_INVALID' | 'RESET_TOKEN_EXPIRED') =>
  new AppError('UNAUTHENTICATED', reason === 'RESET_TOKEN_EXPIRED' ? 'This password reset link has expired; ask for a new one' : 'Invalid password reset link', { reason });
const refreshRefused = (reason: 'REFRESH_TOKEN_INVALID' | 'REFRESH_TOKEN_EXPIRED' | 'REFRESH_TOKEN_REVOKED' | 'REFRESH_TOKEN_REUSED') =>
  new AppError(
    'UNAUTHENTICATED',
    reason === 'REFRESH_TOKEN_REUSED'
      ? 'Refresh token was already used; every session from that sign-in has been revoked'
      : 'Invalid or expired refresh token',
    { reason },
  );


/** A reset link's token: 32 random bytes, base64url. */
const RESET_TOKEN = /^[A-Za-z0-9_-]{43}$/;
const hashResetToken = (token: string): Buffer => createHash('sha256').update(token).digest();
/** A second reset mail for the same account within this long is not sent (the first link still works). */
const RESET_RESEND_SECONDS = 60;

/** How long the failures of an email without an account are remembered after the last one. */
const UNKNOWN_EMAIL_RETENTION_MS = 24 * 3600 * 1000;

export interface AuthServiceDeps {
  clock: Clock;
  passwords: PasswordHasher;
  keys: SigningKeys;
  check: PasswordCheck;
  lockout: LockoutPolicy;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  mailer: Pick<Mailer, 'send'>;
  /** The verification link every new account is mailed. */
  emails: Pick<EmailService, 'firstLink' | 'mailLink'>;
  passwordReset: { url: string; ttlSeconds: number };
}

interface IssuedRefreshToken {
  token: string;
  expiresAt: Date;
}

export class AuthService {
  constructor(private readonly deps: AuthServiceDeps) {}

  /**
   * Creates a CUSTOMER, its first session, a link that verifies its email and a `UserRegistered`
   * event, all in one transaction; the link is mailed once it commits.
   */
  async register(ctx: RequestContext, input: RegisterInput): Promise<AuthPayload> {
    const email = normalizeEmail(input.email);
    const name = input.name.trim();
    const taken = () => conflict('An account with this email already exists');
    if ((await ctx.em.count(UserEntity, { email })) > 0) throw taken();
    const passwordHash = await this.deps.passwords.hash(input.password);
    const now = this.deps.clock();
    try {
      const { user, refresh, link } = await ctx.em.transactional(async (tx) => {
        const user = tx.create(UserEntity, { email, name, passwordHash, role: 'CUSTOMER', createdAt: now, updatedAt: now });
        recordEvent(tx, 'users', 'UserRegistered', user.id, { userId: user.id, email, name, role: user.role, registeredAt: now.toISOString() });
        const link = this.deps.emails.firstLink(tx, user, 'VERIFY', email, now);
        return { user, refresh: this.issueRefreshToken(tx, user, randomUUID(), now), link };
      });
      ctx.log.info({ userId: user.id }, 'user registered');
      await this.deps.emails.mailLink(ctx, link);
      return await this.payload(user, refresh);
    } catch (error) {
      // Someone registered the same email between our check and our insert.
      if (error instanceof UniqueConstraintViolationException) throw taken();
      throw error;
    }
  }

  /**
   * Unknown email and wrong password answer the same error after the same argon2 work.
   * Failures count towards a lockout (the one thing a failed login writes); success resets it.
   * An email without an account locks the same way, so the lock does not tell which are registered.
   */
  async login(ctx: RequestContext, input: LoginInput): Promise<AuthPayload> {
    const now = this.deps.clock();
    const email = normalizeEmail(input.email);
    const found = await ctx.em.findOne(UserEntity, { email });
    if (!found) {
      const emailHash = createHash('sha256').update(email).digest();
      const lockedUntil = await this.unknownEmailLock(ctx.em, emailHash, now);
      if (lockedUntil) throw accountLocked(lockedUntil, now);
      await this.deps.passwords.verifyNobody(input.password);
      await ctx.em.transactional(async (tx) => this.recordUnknownEmailFailure(tx, emailHash, now));
      throw invalidCredentials();
    }
    await this.deps.check.verifyPassword(ctx, found, input.password, input.totp, now);
    const newHash = this.deps.passwords.needsRehash(found.passwordHash) ? await this.deps.passwords.hash(input.password) : null;

    const outcome = await ctx.em.transactional(async (tx): Promise<{ ok: false } | { ok: true; user: UserEntity; refresh: IssuedRefreshToken }> => {
      const user = await tx.findOneOrFail(UserEntity, { id: found.id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      if (!(await this.deps.check.acceptCode(ctx, tx, user, input.totp, now))) return { ok: false };
      Object.assign(user, afterSuccessfulLogin());
      if (newHash) user.passwordHash = newHash;
      return { ok: true, user, refresh: this.issueRefreshToken(tx, user, randomUUID(), now) };
    });
    if (!outcome.ok) throw totpInvalid();
    return this.payload(outcome.user, outcome.refresh);
  }

  /**
   * Rotation: the presented token is marked used and a new one of the same family issued.
   * A token presented twice means it was copied: the whole family is revoked, so neither the
   * thief nor the victim can refresh again (the victim signs in anew).
   */
  async refresh(ctx: RequestContext, token: string): Promise<AuthPayload> {
    if (!looksLikeRefreshToken(token)) throw refreshRefused('REFRESH_TOKEN_INVALID');
    const now = this.deps.clock();
    type Outcome = { refused: Parameters<typeof refreshRefused>[0] } | { user: UserEntity; refresh: IssuedRefreshToken };
    const outcome = await ctx.em.transactional(async (tx): Promise<Outcome> => {
      // The row lock serialises concurrent use of one token: the second sees it used.
      const row = await tx.findOne(RefreshTokenEntity, { tokenHash: hashRefreshToken(token) }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!row) return { refused: 'REFRESH_TOKEN_INVALID' };
      if (row.revokedAt) return { refused: 'REFRESH_TOKEN_REVOKED' };
      if (row.usedAt) {
        const revoked = await this.revokeFamily(tx, row.familyId, now);
        ctx.log.warn({ userId: row.user.id, familyId: row.familyId, revoked }, 'refresh token reused: family revoked');
        return { refused: 'REFRESH_TOKEN_REUSED' };
      }
      if (row.expiresAt.getTime() <= now.getTime()) return { refused: 'REFRESH_TOKEN_EXPIRED' };
      const user = await tx.findOneOrFail(UserEntity, { id: row.user.id });
      row.usedAt = now;
      return { user, refresh: this.issueRefreshToken(tx, user, row.familyId, now) };
    });
    if ('refused' in outcome) throw refreshRefused(outcome.refused);
    return this.payload(outcome.user, outcome.refresh);
  }

  /** Revokes the family the token belongs to; false when the token is unknown. */
  async logout(ctx: RequestContext, token: string): Promise<boolean> {
    if (!looksLikeRefreshToken(token)) return false;
    const row = await ctx.em.findOne(RefreshTokenEntity, { tokenHash: hashRefreshToken(token) });
    if (!row) return false;
    await this.revokeFamily(ctx.em, row.familyId, this.deps.clock());
    return true;
  }

  /**
   * Deletes the signed-in account (`eraseAccount`) after asking for its password (and two-factor
   * code) again; wrong ones count towards the lockout as at sign-in. Access tokens already issued
   * live out their few minutes; the repeated UserDeleted erases what they create meanwhile.
   */
  async deleteAccount(ctx: RequestContext, input: DeleteAccountInput): Promise<boolean> {
    const found = await this.deps.check.accountInPerson(ctx, 'deleted');
    const now = this.deps.clock();
    await this.deps.check.verifyPassword(ctx, found, input.password, input.totp, now);

    const deleted = await ctx.em.transactional(async (tx): Promise<boolean> => {
      const user = await tx.findOneOrFail(UserEntity, { id: found.id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      if (user.deletedAt) throw unauthenticated('The signed-in account no longer exists');
      if (!(await this.deps.check.acceptCode(ctx, tx, user, input.totp, now))) return false;
      await eraseAccount(tx, user, now);
      return true;
    });
    if (!deleted) throw totpInvalid();
    ctx.log.info({ userId: found.id }, 'account deleted');
    return true;
  }

  /**
   * Sets a new password once the current one (and two-factor code) is given again, and ends every
   * session: all refresh tokens are revoked, and the answer is a new sign-in for this client. API
   * keys stay; access tokens already issued live out their few minutes.
   */
  async changePassword(ctx: RequestContext, input: ChangePasswordInput): Promise<AuthPayload> {
    const found = await this.deps.check.accountInPerson(ctx, 'changed');
    const now = this.deps.clock();
    await this.deps.check.verifyPassword(ctx, found, input.currentPassword, input.totp, now);
    const passwordHash = await this.deps.passwords.hash(input.newPassword);

    const outcome = await ctx.em.transactional(async (tx): Promise<{ ok: false } | { ok: true; user: UserEntity; refresh: IssuedRefreshToken }> => {
      const user = await tx.findOneOrFail(UserEntity, { id: found.id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      if (user.deletedAt) throw unauthenticated('The signed-in account no longer exists');
      if (!(await this.deps.check.acceptCode(ctx, tx, user, input.totp, now))) return { ok: false };
      Object.assign(user, afterSuccessfulLogin(), { passwordHash });
      await tx.nativeUpdate(RefreshTokenEntity, { user: user.id, revokedAt: null }, { revokedAt: now });
      return { ok: true, user, refresh: this.issueRefreshToken(tx, user, randomUUID(), now) };
    });
    if (!outcome.ok) throw totpInvalid();
    ctx.log.info({ userId: found.id }, 'password changed; every session ended');
    return this.payload(outcome.user, outcome.refresh);
  }

  /**
   * Mails a one-time link to reset the password of the account with this email, if there is one:
   * the answer is the same either way, so it does not tell who has an account. A new link replaces
   * the previous one; within a minute of the last, none is sent (the last still works).
   */
  async requestPasswordReset(ctx: RequestContext, rawEmail: string): Promise<boolean> {
    if (rawEmail.length > EMAIL_MAX_LENGTH) throw badInput(`email must be at most ${EMAIL_MAX_LENGTH} characters`, 'email');
    const email = normalizeEmail(rawEmail);
    const now = this.deps.clock();
    const user = await ctx.em.findOne(UserEntity, { email, deletedAt: null });
    if (!user) return true;
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.deps.passwordReset.ttlSeconds * 1000);
    const issued = await ctx.em.transactional(async (tx) => {
      await tx.execute(`select 1 from "users" where "id" = ? for update`, [user.id]);
      const [recent] = await tx.execute<unknown[]>(`select 1 from "password_reset" where "user_id" = ? and "created_at" > ? and "expires_at" > ?`, [
        user.id,
        new Date(now.getTime() - RESET_RESEND_SECONDS * 1000),
        now,
      ]);
      if (recent) return false;
      await tx.execute(`delete from "password_reset" where "user_id" = ?`, [user.id], 'run');
      await tx.execute(`insert into "password_reset" ("token_hash", "user_id", "created_at", "expires_at") values (?, ?, ?, ?)`, [hashResetToken(token), user.id, now, expiresAt], 'run');
      return true;
    });
    if (!issued) return true;
    const link = new URL(this.deps.passwordReset.url);
    link.searchParams.set('token', token);
    try {
      await this.deps.mailer.send({
        to: email,
        subject: 'Reset your Mercado password',
        text: `Someone asked to reset the password of your Mercado account. To choose a new one, open\n\n${link.href}\n\nThe link works once, until ${expiresAt.toISOString()}. If you did not ask, ignore this mail: your password stays as it is.\n`,
      });
    } catch (error) {
      // The same answer as ever; asking again sends a new link.
      ctx.log.error({ err: error, userId: user.id }, 'password reset mail not queued');
      await ctx.em.execute(`delete from "password_reset" where "token_hash" = ?`, [hashResetToken(token)], 'run');
      return true;
    }
    ctx.log.info({ userId: user.id }, 'password reset link mailed');
    return true;
  }

  /**
   * Sets a new password with a link's token (and the two-factor code, when active: a mailbox alone
   * does not take over an account), once. Every session ends, the lockout clears, and the answer
   * signs this client in.
   */
  async resetPassword(ctx: RequestContext, input: ResetPasswordInput): Promise<AuthPayload> {
    if (!RESET_TOKEN.test(input.token)) throw resetRefused('RESET_TOKEN_INVALID');
    const now = this.deps.clock();
    const tokenHash = hashResetToken(input.token);
    const [pending] = await ctx.em.execute<{ user_id: string; expires_at: Date | string }[]>(`select "user_id", "expires_at" from "password_reset" where "token_hash" = ?`, [tokenHash]);
    if (!pending) throw resetRefused('RESET_TOKEN_INVALID');
    if (new Date(pending.expires_at).getTime() <= now.getTime()) throw resetRefused('RESET_TOKEN_EXPIRED');
    const passwordHash = await this.deps.passwords.hash(input.newPassword);

    type Outcome = { refused: 'RESET_TOKEN_INVALID' | 'TOTP_REQUIRED' | 'TOTP_INVALID' } | { user: UserEntity; refresh: IssuedRefreshToken };
    const outcome = await ctx.em.transactional(async (tx): Promise<Outcome> => {
      const user = await tx.findOne(UserEntity, { id: pending.user_id, deletedAt: null }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      // The user's row lock orders concurrent uses of one token: the second finds it gone.
      const [claimed] = user ? await tx.execute<unknown[]>(`select 1 from "password_reset" where "token_hash" = ? and "expires_at" > ?`, [tokenHash, now]) : [];
      if (!user || !claimed) return { refused: 'RESET_TOKEN_INVALID' };
      if (user.totpEnabled && !input.totp) return { refused: 'TOTP_REQUIRED' };
      if (!(await this.deps.check.acceptCode(ctx, tx, user, input.totp, now))) return { refused: 'TOTP_INVALID' };
      // The link came to the account's address: it is verified now, if it was not.
      Object.assign(user, afterSuccessfulLogin(), { passwordHash, emailVerifiedAt: user.emailVerifiedAt ?? now });
      await tx.execute(`delete from "password_reset" where "user_id" = ?`, [user.id], 'run');
      await tx.nativeUpdate(RefreshTokenEntity, { user: user.id, revokedAt: null }, { revokedAt: now });
      return { user, refresh: this.issueRefreshToken(tx, user, randomUUID(), now) };
    });
    if ('refused' in outcome) {
      if (outcome.refused === 'TOTP_REQUIRED') throw totpRequired();
      if (outcome.refused === 'TOTP_INVALID') throw totpInvalid();
      throw resetRefused(outcome.refused);
    }
    ctx.log.info({ userId: outcome.user.id }, 'password reset; every session ended');
    return this.payload(outcome.user, outcome.refresh);
  }

  private async unknownEmailLock(em: EntityManager, emailHash: Buffer, now: Date): Promise<Date | null> {
    const [row] = await em.execute<{ locked_until: string | Date | null }[]>(`select "locked_until" from "unknown_email_lockout" where "email_hash" = ?`, [emailHash]);
    return row?.locked_until ? activeLock({ failedLoginCount: 0, lockedUntil: new Date(row.locked_until) }, now) : null;
  }

  /** The lockout rules of an account, on a row per unknown email; rows idle for a day are dropped. */
  private async recordUnknownEmailFailure(tx: EntityManager, emailHash: Buffer, now: Date): Promise<void> {
    await tx.execute(`insert into "unknown_email_lockout" ("email_hash", "updated_at") values (?, ?) on conflict ("email_hash") do nothing`, [emailHash, now]);
    const [row] = await tx.execute<{ failed_login_count: number; locked_until: string | Date | null }[]>(
      `select "failed_login_count", "locked_until" from "unknown_email_lockout" where "email_hash" = ? for update`,
      [emailHash],
    );
    const state = { failedLoginCount: row!.failed_login_count, lockedUntil: row!.locked_until === null ? null : new Date(row!.locked_until) };
    const next = afterFailedLogin(state, this.deps.lockout, now);
    await tx.execute(`update "unknown_email_lockout" set "failed_login_count" = ?, "locked_until" = ?, "updated_at" = ? where "email_hash" = ?`, [
      next.failedLoginCount,
      next.lockedUntil,
      now,
      emailHash,
    ]);
    await tx.execute(
      `delete from "unknown_email_lockout" where "email_hash" in
         (select "email_hash" from "unknown_email_lockout" where "updated_at" < ? and ("locked_until" is null or "locked_until" < ?) limit 100)`,
      [new Date(now.getTime() - UNKNOWN_EMAIL_RETENTION_MS), now],
    );
  }

  private revokeFamily(em: EntityManager, familyId: string, now: Date): Promise<number> {
    return em.nativeUpdate(RefreshTokenEntity, { familyId, revokedAt: null }, { revokedAt: now });
  }

  private issueRefreshToken(tx: EntityManager, user: UserEntity, familyId: string, now: Date): IssuedRefreshToken {
    const token = generateRefreshToken();
    const expiresAt = new Date(now.getTime() + this.deps.refreshTokenTtlSeconds * 1000);
    tx.create(RefreshTokenEntity, { user, familyId, tokenHash: hashRefreshToken(token), createdAt: now, expiresAt });
    return { token, expiresAt };
  }

  private async payload(user: UserEntity, refresh: IssuedRefreshToken): Promise<AuthPayload> {
    const access = await this.deps.keys.signAccessToken(user, this.deps.accessTokenTtlSeconds);
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: refresh.token,
      refreshTokenExpiresAt: refresh.expiresAt,
      user: toUser(user, { self: true }),
    };
  }
}
