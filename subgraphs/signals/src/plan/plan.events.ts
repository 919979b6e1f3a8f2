import { UnrecoverableError } from 'bullmq';
import type { EntityManager, EventEnvelope, EventHandlers } from '../../../kit/src';
import { isErasedUser } from '../user/user.events';
import { planOfCode } from './plan';

export const PLAN_CHANGED = 'PlanChanged';

/**
 * PlanChanged from orders (`{ userId, productId, sku, plan }`): the user's quota plan from now on.
 * One upsert that keeps the newer event: a late, older PlanChanged changes nothing, nor does one
 * for a user erased since (UserDeleted). A malformed payload fails the job at once (a retry would
 * fail the same way) and stays in the failed set.
 */
async function applyPlanChanged(em: EntityManager, envelope: EventEnvelope): Promise<void> {
  const { userId, plan } = envelope.data as { userId?: unknown; plan?: unknown };
  if (typeof userId !== 'string' || userId === '' || userId.length > 100 || typeof plan !== 'string' || plan === '' || plan.length > 50) {
    throw new UnrecoverableError(`PlanChanged ${envelope.id} has no valid userId and plan`);
  }
  const occurredAt = new Date(envelope.occurredAt);
  if (Number.isNaN(occurredAt.getTime())) throw new UnrecoverableError(`PlanChanged ${envelope.id} has no valid occurredAt`);
  if (await isErasedUser(em, userId)) return;
  await em.execute(
    `insert into "user_plan" as p ("user_id", "plan", "changed_at") values (?, ?, ?)
       on conflict ("user_id") do update set "plan" = excluded."plan", "changed_at" = excluded."changed_at" where p."changed_at" < excluded."changed_at"`,
    [userId, planOfCode(plan), occurredAt],
  );
}

export const planEventHandlers: EventHandlers = { [PLAN_CHANGED]: applyPlanChanged };
