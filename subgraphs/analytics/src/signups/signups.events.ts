import type { RollupHandler, RollupHandlers } from '../shared/consume';
import { payloadReader } from '../shared/payload';
import { dayOf, type Day } from '../shared/time';

const PLAN = /^[A-Za-z0-9_-]{1,50}$/;

/** UserRegistered (users): `{ userId, email, name, role, registeredAt }`; only the day counts here. */
const userRegistered: RollupHandler<Day> = {
  parse: (envelope) => {
    const read = payloadReader(envelope);
    return dayOf(read.timeOr('registeredAt'));
  },
  async apply(em, day) {
    await em.execute(`insert into "daily_signups" ("day", "signups") values (?::date, 1) on conflict ("day") do update set "signups" = "daily_signups"."signups" + 1`, [day], 'run');
  },
};

/** PlanChanged (orders): `{ userId, productId, sku, plan }`, one per PLAN line of a paid order. */
const planChanged: RollupHandler<{ day: Day; plan: string }> = {
  parse: (envelope) => {
    const read = payloadReader(envelope);
    return { day: dayOf(read.occurredAt), plan: read.label('plan', PLAN) };
  },
  async apply(em, change) {
    await em.execute(
      `insert into "daily_plan_changes" ("day", "plan", "changes") values (?::date, ?, 1) on conflict ("day", "plan") do update set "changes" = "daily_plan_changes"."changes" + 1`,
      [change.day, change.plan],
      'run',
    );
  },
};

export const signupHandlers: RollupHandlers = { UserRegistered: userRegistered, PlanChanged: planChanged };
