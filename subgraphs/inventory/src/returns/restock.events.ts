import type { Logger } from 'pino';
import type { EventEnvelope, EventHandlers } from '../../../kit/src/events';
import { dataOf, readLines, readString, type OrderLine } from '../reservation/reservation.events';
import type { RestockService } from './restock.service';

// ---- consumed (from orders; subject: the order id) ----
export const RETURN_APPROVED = 'ReturnApproved';

/** `ReturnApproved` as orders emits it; payments refunds `amount`, inventory restocks the GOOD lines. */
export interface ReturnApprovedData {
  orderId: string;
  returnId: string;
  userId: string;
  paymentId: string | null;
  lines: OrderLine[];
  amount: number;
  currency: string;
}

/** The part of ReturnApproved inventory uses (the money is payments' business). */
export type ApprovedReturn = Pick<ReturnApprovedData, 'orderId' | 'returnId' | 'lines'>;

/** Reads a ReturnApproved; a malformed one throws EventPayloadError (failed at once, no retries). */
export function parseReturnApproved(envelope: EventEnvelope): ApprovedReturn {
  const data = dataOf(envelope);
  return { orderId: readString(envelope, data, 'orderId'), returnId: readString(envelope, data, 'returnId'), lines: readLines(envelope, data) };
}

/**
 * Inventory's handlers for returns, merged into the consumer's handler map with the reservation
 * handlers. Each runs in the consumer's transaction with the inbox row; the restock's unique
 * return id also stops the same return arriving under another event id.
 */
export function createReturnEventHandlers(service: RestockService, log: Logger): EventHandlers {
  return {
    [RETURN_APPROVED]: async (em, envelope) => {
      const approved = parseReturnApproved(envelope);
      const result = await service.restock(em, approved, { eventId: envelope.id });
      const context = { eventId: envelope.id, orderId: approved.orderId, returnId: approved.returnId };
      if (result.outcome === 'duplicate') log.info(context, 'return already restocked; ReturnApproved ignored');
      else if (result.lines.length === 0) log.info(context, 'return approved without goods; nothing to restock');
      else log.info({ ...context, lines: result.lines }, 'returned goods restocked');
    },
  };
}
