import { UnrecoverableError } from 'bullmq';
import { isUuid, type EntityManager, type EventEnvelope, type EventHandlerHooks, type EventHandlers, type Logger } from '../../../kit/src';
import type { SignalWatchList } from '../outcome/outcome.watcher';
import type { ScreenshotService } from '../screenshots';

export const USER_DELETED = 'UserDeleted';

/**
 * Locks the user until the transaction ends: shared by writers of per-user rows, exclusive by the
 * erasure, so neither commits between the other's check and write. A statement of its own: the
 * next one takes its snapshot after the lock was granted.
 */
async function lockUser(em: EntityManager, userId: string, mode: 'shared' | 'exclusive'): Promise<void> {
  await em.execute(`select ${mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock'}(hashtextextended(?, 0))`, [`signals:user:${userId}`]);
}

/** Whether the user was erased; until the transaction ends, an erasure cannot commit in between. */
export async function isErasedUser(em: EntityManager, userId: string): Promise<boolean> {
  await lockUser(em, userId, 'shared');
  const rows = await em.execute<unknown[]>(`select 1 from "erased_user" where "user_id" = ?`, [userId]);
  return rows.length > 0;
}

export interface UserEventsDeps {
  /** Removes the erased signals' PNGs and queued screenshot jobs. */
  screenshots: Pick<ScreenshotService, 'discard'>;
  /** Stops judging the erased signals, here and on the other replicas. */
  watcher: Pick<SignalWatchList, 'forget'>;
  log: Logger;
}

/**
 * UserDeleted from users (`{ userId, deletedAt }`): erases everything signals holds of the user in
 * the consumer's transaction (endpoints, so their webhook URLs answer 404; signals; dedup claims;
 * refusals; usage; plan; TradingView session) and keeps a tombstone so a late PlanChanged does not
 * recreate the plan row. After commit: PNGs and screenshot jobs go, the outcome watchers forget
 * the signals. A repeat, or a user signals never saw, changes nothing. Published SignalReceived and
 * SignalResolved events stay in the outbox until its retention prunes them (analytics erases its copy).
 */
function eraseUser(deps: UserEventsDeps) {
  return async (em: EntityManager, envelope: EventEnvelope, hooks?: EventHandlerHooks): Promise<void> => {
    const { userId, deletedAt } = envelope.data as { userId?: unknown; deletedAt?: unknown };
    if (!isUuid(userId) || typeof deletedAt !== 'string' || Number.isNaN(Date.parse(deletedAt))) {
      throw new UnrecoverableError(`UserDeleted ${envelope.id} has no valid userId and deletedAt`);
    }
    // Files and jobs can only go once the rows are gone for good.
    if (!hooks) throw new Error('UserDeleted needs the consumer\'s afterCommit hook');
    await lockUser(em, userId, 'exclusive');
    await em.execute(`insert into "erased_user" ("user_id", "erased_at") values (?, now()) on conflict ("user_id") do nothing`, [userId]);
    // Endpoints first: a webhook delivery in flight commits before the signals are deleted below, or
    // waits and then fails on its deleted endpoint (foreign key), writing nothing.
    await em.execute(`select 1 from "webhook_endpoint" where "user_id" = ? for update`, [userId]);
    const signals = await em.execute<{ id: string; symbol: string; result: string }[]>(
      `delete from "signal" where "user_id" = ? returning "id", "symbol", "result"`,
      [userId],
    );
    const endpointsOfUser = `select "id" from "webhook_endpoint" where "user_id" = ?`;
    await em.execute(`delete from "alert_dedup" where "endpoint_id" in (${endpointsOfUser})`, [userId]);
    await em.execute(`delete from "webhook_refusal" where "user_id" = ? or "endpoint_id" in (${endpointsOfUser})`, [userId, userId]);
    const endpoints = await em.execute<unknown[]>(`delete from "webhook_endpoint" where "user_id" = ? returning 1`, [userId]);
    for (const table of ['signal_usage', 'user_plan', 'tradingview_session']) await em.execute(`delete from "${table}" where "user_id" = ?`, [userId]);
    hooks.afterCommit(async () => {
      for (const signal of signals) if (signal.result === 'PENDING') deps.watcher.forget(signal.id, signal.symbol);
      await deps.screenshots.discard(signals.map((signal) => signal.id));
      deps.log.info({ userId, eventId: envelope.id, signals: signals.length, endpoints: endpoints.length }, 'signals data of a deleted user erased');
    });
  };
}

export function userEventHandlers(deps: UserEventsDeps): EventHandlers {
  return { [USER_DELETED]: eraseUser(deps) };
}
