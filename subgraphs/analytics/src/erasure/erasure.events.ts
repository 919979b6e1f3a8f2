import { UnrecoverableError } from 'bullmq';
import { isUuid, sqlQuery, type EntityManager } from '../../../kit/src';
import type { RollupHandler, RollupHandlers } from '../shared/consume';

/** The key of the transaction lock that orders a user's erasure against writes of their rows. */
const lockKey = (userId: string): string => `analytics:user:${userId}`;

/**
 * Takes the locks that let this transaction write per-user rows of `userIds`; the writes must then
 * read the tombstones (`erased_user`) themselves. The locks come first (shared: a user's events do
 * not wait on one another), so an erasure committing meanwhile is waited for and its tombstone seen,
 * and one that starts later waits for this transaction and deletes what it wrote. They are taken in
 * one order, so two batches never wait on each other through an erasure queued between them.
 */
export async function lockUsersRows(em: EntityManager, userIds: readonly string[]): Promise<void> {
  const keys = [...new Set(userIds)].map(lockKey).sort();
  if (keys.length === 0) return;
  await sqlQuery(em, `select count(pg_advisory_xact_lock_shared(hashtextextended("key", 0))) from jsonb_array_elements_text($1::jsonb) as "key"`, [JSON.stringify(keys)]);
}

/**
 * UserDeleted (users): `{ userId, deletedAt }`. Deletes the user's trading figures and trade order
 * states and keeps their id as a tombstone; their orders stay in the count of the day they were
 * first seen (the KPIs read it). The hourly and daily rollups name no user and stay as they are.
 * Unlike other events here, a malformed one fails the job and stays in the failed set for replay:
 * an erasure must not be acknowledged without effect.
 */
const userDeleted: RollupHandler<string> = {
  parse(envelope) {
    const { userId } = envelope.data as { userId?: unknown };
    if (!isUuid(userId)) throw new UnrecoverableError(`UserDeleted event ${envelope.id}: data.userId must be a uuid`);
    return userId;
  },
  async apply(em, userId) {
    await em.execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [lockKey(userId)]);
    await em.execute(`insert into "erased_user" ("user_id", "erased_at") values (?, now()) on conflict ("user_id") do nothing`, [userId], 'run');
    await em.execute(`delete from "trading_stats" where "user_id" = ?`, [userId], 'run');
    await em.execute(
      `with "gone" as (delete from "trade_order_state" where "user_id" = ? returning "first_seen_at")
       insert into "daily_erased_trade_orders" ("day", "orders")
       select ("first_seen_at" at time zone 'UTC')::date, count(*) from "gone" group by 1
       on conflict ("day") do update set "orders" = "daily_erased_trade_orders"."orders" + excluded."orders"`,
      [userId],
      'run',
    );
  },
};

export const erasureHandlers: RollupHandlers = { UserDeleted: userDeleted };
