import { createHash, randomBytes } from 'node:crypto';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import { AppError, conflict, requireViewer, unauthenticated, type EntityManager, type RequestContext } from '../../../kit/src';
import { totpInvalid, type PasswordCheck } from '../auth/password-check';
import type { Clock } from '../clock';
import type { Mailer } from '../mail/mail.queue';
import { UserEntity } from '../users/user.entity';
import { normalizeEmail } from '../users/user.service';
import { toUser, type User } from '../users/user.type';
import { EmailVerificationEntity, type EmailLinkKind } from './email-verification.entity';
import type { RequestEmailChangeInput } from './email.input';

/** A link's token: 32 random bytes, base64url. */
const LINK_TOKEN = /^[A-Za-z0-9_-]{43}$/;
const hashLinkToken = (token: string): string => createHash('sha256').update(token).digest('hex');
/** A second link of the same kind within this long is not mailed (the last one still works). */
const RESEND_SECONDS = 60;

const linkRefused = (reason: 'EMAIL_TOKEN_INVALID' | 'EMAIL_TOKEN_EXPIRED') =>
  new AppError('UNAUTHENTICATED', reason === 'EMAIL_TOKEN_EXPIRED' ? 'This email verification link has expired; ask for a new one' : 'Invalid email verification link', {
    reason,
  });
const emailTaken = () => conflict('An account with this email already exists');

/** A link issued in a transaction, mailed once that transaction commits. */
export interface IssuedLink {
  kind: EmailLinkKind;
  userId: string;
  email: string;
  token: string;
  expiresAt: Date;
}

export interface EmailServiceDeps {
  clock: Clock;
  mailer: Pick<Mailer, 'send'>;
  check: PasswordCheck;
  /** The web page a link opens (the token follows as `?token=`), and how long a link works. */
  verification: { url: string; ttlSeconds: number };
}

/**
 * Proving an account's email: a link mailed at registration (and on request) verifies the address,
 * and a new address becomes the account's only through a link mailed to it. Links are stored as
 * their SHA-256 and work once; the old address hears of a change.
 */
export class EmailService {
  constructor(private readonly deps: EmailServiceDeps) {}

  /**
   * In the caller's transaction, which holds `user`'s row: a link of `kind` for `email`, replacing
   * the user's earlier ones of that kind. Null when one was issued within the last minute (it
   * still works), so asking again does not flood a mailbox.
   */
  async issueLink(tx: EntityManager, user: UserEntity, kind: EmailLinkKind, email: string, now: Date): Promise<IssuedLink | null> {
    const recent = await tx.count(EmailVerificationEntity, { user: user.id, kind, createdAt: { $gt: new Date(now.getTime() - RESEND_SECONDS * 1000) }, expiresAt: { $gt: now } });
    if (recent > 0) return null;
    await tx.nativeDelete(EmailVerificationEntity, { user: user.id, kind });
    return this.firstLink(tx, user, kind, email, now);
  }

  /** A link for a user who has none of `kind` yet (a new account): nothing to replace or throttle. */
  firstLink(tx: EntityManager, user: UserEntity, kind: EmailLinkKind, email: string, now: Date): IssuedLink {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.deps.verification.ttlSeconds * 1000);
    tx.create(EmailVerificationEntity, { tokenHash: hashLinkToken(token), user, kind, email, createdAt: now, expiresAt });
    return { kind, userId: user.id, email, token, expiresAt };
  }

  /** Queues the mail of a committed link; a failure is logged, and asking again sends a new one. */
  async mailLink(ctx: RequestContext, link: IssuedLink): Promise<void> {
    const url = new URL(this.deps.verification.url);
    url.searchParams.set('token', link.token);
    const until = `The link works once, until ${link.expiresAt.toISOString()}.`;
    const message =
      link.kind === 'VERIFY'
        ? {
            subject: 'Confirm your Mercado email address',
            text: `To confirm that this address belongs to your Mercado account, open\n\n${url.href}\n\n${until} If you did not create an account, ignore this mail.\n`,
          }
        : {
            subject: 'Confirm your new Mercado email address',
            text: `Someone asked to make this the email address of a Mercado account. To confirm, open\n\n${url.href}\n\n${until} If you did not ask, ignore this mail: nothing changes.\n`,
          };
    try {
      await this.deps.mailer.send({ to: link.email, ...message });
      ctx.log.info({ userId: link.userId, kind: link.kind }, 'email verification link mailed');
    } catch (error) {
      ctx.log.error({ err: error, userId: link.userId, kind: link.kind }, 'email verification mail not queued');
    }
  }

  /** Mails a new verification link to the signed-in user's address. */
  async resendVerification(ctx: RequestContext): Promise<boolean> {
    const viewer = requireViewer(ctx.viewer);
    const now = this.deps.clock();
    const link = await ctx.em.transactional(async (tx) => {
      const user = await tx.findOne(UserEntity, { id: viewer.id, deletedAt: null }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!user?.email) throw unauthenticated('The signed-in account no longer exists');
      if (user.emailVerifiedAt) throw conflict('This email address is verified already');
      return this.issueLink(tx, user, 'VERIFY', user.email, now);
    });
    if (link) await this.mailLink(ctx, link);
    return true;
  }

  /**
   * After the password (and two-factor code) is given again, mails a link to `newEmail`; the account's
   * address changes only when that link is opened. A newer request replaces the pending one.
   */
  async requestChange(ctx: RequestContext, input: RequestEmailChangeInput): Promise<boolean> {
    const found = await this.deps.check.accountInPerson(ctx, 'changed');
    const now = this.deps.clock();
    const email = normalizeEmail(input.newEmail);
    if (email === found.email) throw conflict('This is the account\'s email address already');
    await this.deps.check.verifyPassword(ctx, found, input.password, input.totp, now);
    if ((await ctx.em.count(UserEntity, { email })) > 0) throw emailTaken();

    const outcome = await ctx.em.transactional(async (tx): Promise<{ ok: false } | { ok: true; link: IssuedLink | null }> => {
      const user = await tx.findOneOrFail(UserEntity, { id: found.id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      if (user.deletedAt) throw unauthenticated('The signed-in account no longer exists');
      if (!(await this.deps.check.acceptCode(ctx, tx, user, input.totp, now))) return { ok: false };
      // A different new address replaces the pending change at once; the same one again waits out the minute.
      const [pending] = await tx.find(EmailVerificationEntity, { user: user.id, kind: 'CHANGE' }, { limit: 1 });
      if (!pending || pending.email !== email) {
        if (pending) await tx.nativeDelete(EmailVerificationEntity, { user: user.id, kind: 'CHANGE' });
        return { ok: true, link: this.firstLink(tx, user, 'CHANGE', email, now) };
      }
      return { ok: true, link: await this.issueLink(tx, user, 'CHANGE', email, now) };
    });
    if (!outcome.ok) throw totpInvalid();
    if (outcome.link) await this.mailLink(ctx, outcome.link);
    return true;
  }

  /**
   * Opens a link: verifies the account's address, or makes the link's address the account's (and
   * verified). No sign-in is needed; the link is the proof. After a change, links mailed to the old
   * address (verification, password reset) stop working and the old address is told.
   */
  async verify(ctx: RequestContext, token: string): Promise<User> {
    if (!LINK_TOKEN.test(token)) throw linkRefused('EMAIL_TOKEN_INVALID');
    const now = this.deps.clock();
    const tokenHash = hashLinkToken(token);
    const pending = await ctx.em.findOne(EmailVerificationEntity, { tokenHash });
    if (!pending) throw linkRefused('EMAIL_TOKEN_INVALID');
    if (pending.expiresAt.getTime() <= now.getTime()) throw linkRefused('EMAIL_TOKEN_EXPIRED');

    type Outcome = { refused: true } | { user: UserEntity; previousEmail: string | null };
    let outcome: Outcome;
    try {
      outcome = await ctx.em.transactional(async (tx): Promise<Outcome> => {
        const user = await tx.findOne(UserEntity, { id: pending.user.id, deletedAt: null }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
        // The user's row lock orders concurrent uses of one link: the second finds it gone.
        const claimed = user ? await tx.findOne(EmailVerificationEntity, { tokenHash, expiresAt: { $gt: now } }, { refresh: true }) : null;
        if (!user || !claimed) return { refused: true };
        if (claimed.kind === 'VERIFY') {
          // The address changed since this link was mailed.
          if (claimed.email !== user.email) return { refused: true };
          user.emailVerifiedAt ??= now;
          await tx.nativeDelete(EmailVerificationEntity, { user: user.id, kind: 'VERIFY' });
          return { user, previousEmail: null };
        }
        if ((await tx.count(UserEntity, { email: claimed.email, id: { $ne: user.id } })) > 0) throw emailTaken();
        const previousEmail = user.email;
        Object.assign(user, { email: claimed.email, emailVerifiedAt: now });
        await tx.nativeDelete(EmailVerificationEntity, { user: user.id });
        await tx.execute(`delete from "password_reset" where "user_id" = ?`, [user.id], 'run');
        return { user, previousEmail };
      });
    } catch (error) {
      // Someone registered the address between our check and our update.
      if (error instanceof UniqueConstraintViolationException) throw emailTaken();
      throw error;
    }
    if ('refused' in outcome) throw linkRefused('EMAIL_TOKEN_INVALID');
    const { user, previousEmail } = outcome;
    if (previousEmail) {
      ctx.log.info({ userId: user.id }, 'email address changed');
      await this.deps.mailer
        .send({
          to: previousEmail,
          subject: 'Your Mercado email address was changed',
          text: `The email address of your Mercado account is now ${user.email}. Mail about the account goes there from now on, and links sent to this address no longer work.\n\nIf you did not make this change, contact support at once.\n`,
        })
        .catch((error: unknown) => ctx.log.error({ err: error, userId: user.id }, 'email change notice not queued'));
    } else {
      ctx.log.info({ userId: user.id }, 'email address verified');
    }
    return toUser(user, { viewer: ctx.viewer });
  }
}
