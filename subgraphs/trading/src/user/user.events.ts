import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { isUuid, type EntityManager, type EventEnvelope, type EventHandlerHooks, type EventHandlers } from '../../../kit/src';
import type { AccountService } from '../accounts/account.service';
import type { TradeOrderService } from '../orders/trade-order.service';

export const USER_DELETED = 'UserDeleted';

export interface UserEventDeps {
  orders: TradeOrderService;
  accounts: AccountService;
  log: Logger;
}

/**
 * UserDeleted from users (`{ userId, deletedAt }`): the user's live orders are cancelled and their
 * exchange accounts unlinked and scrubbed, so the sealed API keys, labels and key hints are gone. Trade orders and fills stay: they are
 * financial records, and carry only the user id.
 */
export function userEventHandlers({ orders, accounts, log }: UserEventDeps): EventHandlers {
  async function applyUserDeleted(em: EntityManager, envelope: EventEnvelope, hooks?: EventHandlerHooks): Promise<void> {
    const { userId } = envelope.data as { userId?: unknown };
    if (!isUuid(userId)) throw new UnrecoverableError(`UserDeleted ${envelope.id} has no valid userId`);
    // Cancelling runs first, each order in its own transaction as cancelTradeOrder does: it calls
    // exchanges and changes the engine's in-memory books, neither of which this transaction could
    // roll back, and a real exchange needs the credentials erased below. A failure throws before
    // anything is erased; the retry finds fewer live orders.
    const cancelled = await orders.cancelAllOf(em, userId);
    // In this transaction with the inbox row; it throws (and the event retries) if an order went live
    // meanwhile, e.g. one placed before the accounts were locked.
    const unlinked = await accounts.eraseAllOf(em, userId);
    const evict = () => accounts.evict(unlinked);
    if (hooks) hooks.afterCommit(evict);
    else await evict();
    log.info({ eventId: envelope.id, cancelled, unlinked: unlinked.length }, 'deleted user erased: orders cancelled, exchange accounts unlinked');
  }

  return { [USER_DELETED]: applyUserDeleted };
}
