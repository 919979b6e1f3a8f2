import type { EventHandlers } from '../../../kit/src/events';
import { payloadReader } from '../shared/events';
import { isUuid } from '../shared/ids';
import { erasePortfolio } from './erasure';
import type { PortfolioUpdates } from './portfolio.updates';

export const USER_DELETED = 'UserDeleted';

/**
 * users' `UserDeleted` (`{ userId, deletedAt }`, subject = user id): erases the user's portfolio in
 * the consumer's transaction, then ends their `portfolioUpdated` streams. A malformed payload fails
 * the job at once and stays in the failed set, so an erasure is never dropped unseen.
 */
export function createErasureEventHandlers(deps: { updates: PortfolioUpdates }): EventHandlers {
  return {
    [USER_DELETED]: async (em, envelope, hooks) => {
      const read = payloadReader(envelope);
      const userId = read.string('userId', 36);
      if (!isUuid(userId)) throw read.fail('data.userId must be a uuid');
      await erasePortfolio(em, userId);
      deps.updates.publishAfterCommit(em, hooks, userId, { erased: true });
    },
  };
}
