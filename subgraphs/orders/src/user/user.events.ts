import { LockMode } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { isUuid } from '../../../kit/src';
import { CANCELLABLE, CancelReason } from '../order/order-state';
import { OrderEntity } from '../order/order.entity';
import type { SagaMetrics } from '../order/order.metrics';
import { cancelLockedOrder } from '../order/order.transitions';
import type { OrderUpdates } from '../order/order.updates';
import { EventPayloadError, payloadReader, withinTransaction, type EventHandler } from '../shared/events';

export const USER_DELETED = 'UserDeleted';

/** What erased free text and payment details read from then on. */
export const ERASED = '[erased]';

/** The history note of an order cancelled because its customer deleted their account (cancelReason CUSTOMER). */
export const ACCOUNT_DELETED = 'ACCOUNT_DELETED';

export interface UserEventDeps {
  log: Logger;
  metrics?: SagaMetrics;
  updates?: OrderUpdates;
}

/**
 * UserDeleted from users (`{ userId, deletedAt }`), in one transaction:
 * - the cart and its lines go;
 * - orders not yet paid are cancelled as the customer's own cancellation would (OrderCancelled:
 *   inventory releases the goods, payments never charges or refunds a late charge), so a pending
 *   checkout takes no money;
 * - orders, their lines and history, and returns stay (accounting records), keyed by the user id;
 *   what is not needed for them is scrubbed: the payment method (a card or provider token, which
 *   payments keeps with the payment) and the return's free text (the customer's reason, the
 *   admin's note), also in sent PaymentRequested events. Amounts, products, statuses, dates,
 *   tracking numbers and the checkout's idempotency key stay (the key still refuses a replayed checkout).
 * No event recreates a user's cart, order or return, so no tombstone is kept. Running it again, or
 * for a user orders never saw, changes nothing.
 */
export function userDeletedHandler({ log, metrics, updates }: UserEventDeps): EventHandler {
  return async (em, envelope, hooks) => {
    const read = payloadReader(envelope);
    const userId = read.string('userId', 100);
    if (!isUuid(userId)) throw new EventPayloadError(envelope, 'data.userId must be a UUID');
    if (Number.isNaN(Date.parse(read.string('deletedAt', 40)))) throw new EventPayloadError(envelope, 'data.deletedAt must be a date');
    const cancelled = await withinTransaction(em, async (tx) => {
      // Waits on the cart row lock for a checkout in progress, so the order it places is cancelled below.
      await tx.execute('delete from "cart" where "user_id" = ?', [userId], 'run'); // the lines cascade
      const open = await tx.find(OrderEntity, { userId, status: { $in: [...CANCELLABLE] } }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true, orderBy: { id: 'asc' } });
      for (const order of open) await cancelLockedOrder(tx, order, CancelReason.CUSTOMER, metrics, ACCOUNT_DELETED);
      await tx.execute('update "orders" set "payment_method" = ? where "user_id" = ? and "payment_method" <> ?', [ERASED, userId, ERASED], 'run');
      // Sent PaymentRequested events stay in the outbox for a week; those still to be sent keep the
      // method, which payments needs to act on them (it charges nothing for a cancelled order).
      await tx.execute(
        `update "outbox" set "data" = jsonb_set("data", '{paymentMethod}', to_jsonb(?::text))
          where "type" = 'PaymentRequested' and "published_at" is not null and "data"->>'userId' = ? and "data"->>'paymentMethod' <> ?`,
        [ERASED, userId, ERASED],
        'run',
      );
      await tx.execute(
        'update "order_return" set "reason" = ?, "decision_note" = null where "user_id" = ? and ("reason" <> ? or "decision_note" is not null)',
        [ERASED, userId, ERASED],
        'run',
      );
      return open;
    });
    for (const order of cancelled) updates?.publishAfterCommit(em, hooks, order);
    if (cancelled.length > 0) log.info({ eventId: envelope.id, orders: cancelled.map((order) => order.id) }, 'open orders of a deleted user cancelled');
  };
}
