import { UnrecoverableError } from 'bullmq';
import { isUuid, type EntityManager, type EventEnvelope, type EventHandlers } from '../../../kit/src';

export const USER_DELETED = 'UserDeleted';

/**
 * UserDeleted from users (`{ userId, deletedAt }`): the user's reviews go, and each reviewed
 * product's stored rating sum and count drop by what those reviews added (one statement, so the
 * two never disagree). Nothing recreates a review from an event, so no tombstone is kept; running
 * it again, or for a user without reviews, deletes nothing. A malformed payload fails at once.
 */
async function eraseReviews(em: EntityManager, envelope: EventEnvelope): Promise<void> {
  const { userId, deletedAt } = (envelope.data ?? {}) as { userId?: unknown; deletedAt?: unknown };
  if (!isUuid(userId)) throw new UnrecoverableError(`UserDeleted ${envelope.id} has no valid userId`);
  if (typeof deletedAt !== 'string' || Number.isNaN(Date.parse(deletedAt))) throw new UnrecoverableError(`UserDeleted ${envelope.id} has no valid deletedAt`);
  await em.execute(
    `with "gone" as (delete from "review" where "author_id" = ? returning "product_id", "rating"),
          "totals" as (select "product_id", sum("rating")::int as "sum", count(*)::int as "count" from "gone" group by "product_id")
     update "product" p set "rating_sum" = p."rating_sum" - t."sum", "rating_count" = p."rating_count" - t."count"
       from "totals" t where p."id" = t."product_id"`,
    [userId],
    'run',
  );
}

export const reviewEventHandlers: EventHandlers = { [USER_DELETED]: eraseReviews };
