import type { EntityManager } from '../../../kit/src';
import { portfolioIdOf } from '../shared/ids';

/** Writes (or touches) the user's portfolio row, which stays locked until the transaction ends. */
async function lockPortfolio(em: EntityManager, userId: string): Promise<string> {
  const portfolioId = portfolioIdOf(userId);
  await em.execute(
    `insert into "portfolio" ("id", "user_id", "created_at", "updated_at") values (?, ?, now(), now())
     on conflict ("id") do update set "updated_at" = now()`,
    [portfolioId, userId],
  );
  return portfolioId;
}

/**
 * Opens the user's portfolio for a write (a fill, new targets): false, leaving no row, when the user
 * was erased. The tombstone is read only once the row is locked, and erasure locks the same row
 * before it writes the tombstone: whichever of the two comes second sees what the first committed,
 * so a write racing an erasure is either erased with the rest or skipped.
 */
export async function openPortfolio(em: EntityManager, userId: string): Promise<boolean> {
  const portfolioId = await lockPortfolio(em, userId);
  const erased: unknown[] = await em.execute(`select 1 from "erased_user" where "user_id" = ?`, [userId]);
  if (erased.length === 0) return true;
  await em.execute(`delete from "portfolio" where "id" = ?`, [portfolioId]);
  return false;
}

/**
 * Erases everything portfolio holds of the user, whether it held anything or not, and keeps their
 * id as a tombstone. Holdings, the fill ledger (trading keeps the fills themselves), value snapshots
 * and targets go with the portfolio row (`on delete cascade`).
 */
export async function erasePortfolio(em: EntityManager, userId: string): Promise<void> {
  const portfolioId = await lockPortfolio(em, userId);
  await em.execute(`insert into "erased_user" ("user_id", "erased_at") values (?, now()) on conflict ("user_id") do nothing`, [userId]);
  await em.execute(`delete from "portfolio" where "id" = ?`, [portfolioId]);
}
