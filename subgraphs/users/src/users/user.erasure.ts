import { recordEvent, type EntityManager } from '../../../kit/src';
import { ApiKeyEntity } from '../api-keys/api-key.entity';
import { RefreshTokenEntity } from '../auth/refresh-token.entity';
import { EmailVerificationEntity } from '../email/email-verification.entity';
import type { UserEntity } from './user.entity';

/** What a deleted account is called wherever another subgraph still shows its id (an order's buyer, say). */
const DELETED_USER_NAME = 'Deleted user';

/** Accounts handled per sweep transaction. */
const REPEAT_BATCH = 100;

/**
 * Deletes `user`, whose row the caller's transaction `tx` has locked. The row stays as a tombstone
 * without email, name, password or TOTP secret, so references to the id still resolve and the
 * address can register again; refresh tokens, API keys and mailed links go with it. `UserDeleted` tells every
 * other subgraph to erase what it holds of the user.
 */
export async function eraseAccount(tx: EntityManager, user: UserEntity, now: Date): Promise<void> {
  Object.assign(user, {
    email: null,
    emailVerifiedAt: null,
    name: DELETED_USER_NAME,
    passwordHash: '',
    totpSecret: null,
    totpEnabled: false,
    totpLastStep: null,
    failedLoginCount: 0,
    lockedUntil: null,
    deletedAt: now,
  });
  await tx.nativeDelete(RefreshTokenEntity, { user: user.id });
  await tx.nativeDelete(ApiKeyEntity, { user: user.id });
  await tx.nativeDelete(EmailVerificationEntity, { user: user.id });
  await tx.execute(`delete from "password_reset" where "user_id" = ?`, [user.id], 'run');
  // The outbox keeps events a week after they are sent; analytics only counts the signup.
  await tx.execute(`update "outbox" set "data" = "data" - 'email' - 'name' where "type" = 'UserRegistered' and "subject" = ?`, [user.id], 'run');
  recordEvent(tx, 'users', 'UserDeleted', user.id, { userId: user.id, deletedAt: now.toISOString() });
}

/**
 * The second `UserDeleted` of each account deleted before `dueBefore`, sent once. Access tokens
 * issued before a deletion stay valid until they expire, and whatever the deleted user created with
 * one after the first erasure would otherwise stay: the subgraphs' erasures are idempotent, so the
 * repeat, sent once every such token has expired, erases that too. Replicas sweep side by side
 * (`skip locked`). Returns how many were sent.
 */
export async function repeatDueErasures(em: EntityManager, dueBefore: Date, now: Date): Promise<number> {
  return em.transactional(async (tx) => {
    const due = await tx.execute<{ id: string; deleted_at: Date | string }[]>(
      `select "id", "deleted_at" from "users" where "deleted_at" <= ? and "erasure_repeated_at" is null
        order by "deleted_at" limit ? for update skip locked`,
      [dueBefore, REPEAT_BATCH],
    );
    if (due.length === 0) return 0;
    for (const row of due) {
      recordEvent(tx, 'users', 'UserDeleted', row.id, { userId: row.id, deletedAt: new Date(row.deleted_at).toISOString(), repeat: true });
    }
    await tx.execute(`update "users" set "erasure_repeated_at" = ? where "id" in (${due.map(() => '?').join(', ')})`, [now, ...due.map((row) => row.id)]);
    return due.length;
  });
}
