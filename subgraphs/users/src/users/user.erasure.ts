import { recordEvent, type EntityManager } from '../../../kit/src';

/** Accounts handled per sweep transaction. */
const REPEAT_BATCH = 100;

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
