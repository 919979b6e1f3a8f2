import { LockMode } from '@mikro-orm/core';
import type { EntityManager, EventEnvelope, EventHandlers } from '../../../kit/src';
import { UserEntity } from './user.entity';

interface PlanChangedData {
  userId: string;
  plan: string;
}

/** PlanChanged from orders: the user bought a plan. Late, older events do not overwrite newer ones. */
async function applyPlanChanged(em: EntityManager, envelope: EventEnvelope): Promise<void> {
  const { userId, plan } = envelope.data as unknown as PlanChangedData;
  if (typeof userId !== 'string' || typeof plan !== 'string' || plan.length === 0 || plan.length > 50) {
    throw new Error(`PlanChanged ${envelope.id} has no valid userId and plan`);
  }
  const user = await em.findOne(UserEntity, { id: userId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (!user) return;
  const occurredAt = new Date(envelope.occurredAt);
  if (user.planChangedAt && user.planChangedAt >= occurredAt) return;
  user.plan = plan.toUpperCase();
  user.planChangedAt = occurredAt;
}

export const userEventHandlers: EventHandlers = { PlanChanged: applyPlanChanged };
