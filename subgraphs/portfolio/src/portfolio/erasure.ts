import { sqlQuery, type EntityManager } from '../../../kit/src';
import { portfolioIdOf } from '../shared/ids';

/**
 * Writes (or touches) the users' portfolio rows, which stay locked until the transaction ends. They
 * are locked in one order (by id), so two transactions locking several never wait on each other.
 */
async function lockPortfolios(em: EntityManager, userIds: readonly string[]): Promise<{ id: string; user_id: string }[]> {
  const rows = [...new Set(userIds)].map((userId) => ({ id: portfolioIdOf(userId), user_id: userId })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (rows.length === 0) return rows;
  await sqlQuery(
    em,
    `insert into "portfolio" ("id", "user_id", "created_at", "updated_at")
     select "p"."id", "p"."user_id", now(), now() from jsonb_to_recordset($1::jsonb) as "p"("id" uuid, "user_id" varchar)
     on conflict ("id") do update set "updated_at" = now()`,
    [JSON.stringify(rows)],
  );
  return rows;
}

/**
 * Opens the user's portfolio for a write (a fill, new targets): false, leaving no row, when the user
 * was erased. The tombstone is read only once the row is locked, and erasure locks the same row
 * before it writes the tombstone: whichever of the two comes second sees what the first committed,
 * so a write racing an erasure is either erased with the rest or skipped.
 */
export async function openPortfolio(em: EntityManager, userId: string): Promise<boolean> {
  return (await openPortfolios(em, [userId])).has(userId);
}

/** `openPortfolio` for many users in three statements at most: answers those whose portfolio is open. */
export async function openPortfolios(em: EntityManager, userIds: readonly string[]): Promise<Set<string>> {
  const rows = await lockPortfolios(em, userIds);
  if (rows.length === 0) return new Set();
  const erased = await sqlQuery<{ user_id: string }>(em, `select "user_id" from "erased_user" where "user_id" in (select jsonb_array_elements_text($1::jsonb))`, [
    JSON.stringify(rows.map((row) => row.user_id)),
  ]);
  if (erased.length > 0) {
    await sqlQuery(em, `delete from "portfolio" where "id" in (select jsonb_array_elements_text($1::jsonb)::uuid)`, [JSON.stringify(erased.map((row) => portfolioIdOf(row.user_id)))]);
  }
  const gone = new Set(erased.map((row) => row.user_id));
  return new Set(rows.map((row) => row.user_id).filter((userId) => !gone.has(userId)));
}

/**
 * Erases everything portfolio holds of the user, whether it held anything or not, and keeps their
 * id as a tombstone. Holdings, the fill ledger (trading keeps the fills themselves), value snapshots
 * and targets go with the portfolio row (`on delete cascade`).
 */
export async function erasePortfolio(em: EntityManager, userId: string): Promise<void> {
  await lockPortfolios(em, [userId]);
  const portfolioId = portfolioIdOf(userId);
  await em.execute(`insert into "erased_user" ("user_id", "erased_at") values (?, now()) on conflict ("user_id") do nothing`, [userId]);
  await em.execute(`delete from "portfolio" where "id" = ?`, [portfolioId]);
}
