import { UnrecoverableError } from 'bullmq';
import { isUuid, type EntityManager, type EventEnvelope, type EventHandlers } from '../../../kit/src';
import type { Mailer, MailMessage } from '../mail/mail.queue';
import { UserEntity } from '../users/user.entity';
import { isCancelReason, orderCancelledMail, orderConfirmedMail, orderShippedMail, refundIssuedMail, type ConfirmedOrder } from './order-mail';

const malformed = (envelope: EventEnvelope, what: string) => new UnrecoverableError(`${envelope.type} ${envelope.id} has no valid ${what}`);
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isText = (value: unknown, max: number): value is string => typeof value === 'string' && value.length > 0 && value.length <= max;

function readConfirmedOrder(envelope: EventEnvelope): ConfirmedOrder {
  const { orderId, totalAmount, currency, lines } = envelope.data as Record<string, unknown>;
  if (!isUuid(orderId)) throw malformed(envelope, 'orderId');
  if (!isCount(totalAmount) || !isText(currency, 3)) throw malformed(envelope, 'total');
  if (!Array.isArray(lines) || lines.length === 0) throw malformed(envelope, 'lines');
  return {
    orderId,
    totalAmount,
    currency,
    lines: lines.map((line: Record<string, unknown>) => {
      const { sku, name, kind, quantity, unitAmount } = line;
      if (!isText(sku, 100) || !isText(kind, 16) || !isCount(quantity) || !isCount(unitAmount) || (name !== null && name !== undefined && !isText(name, 200))) {
        throw malformed(envelope, 'lines');
      }
      return { sku, name: name ?? null, kind, quantity, unitAmount };
    }),
  };
}

/**
 * The buyer hears of their order by mail: a receipt when it is paid (OrderConfirmed), the tracking
 * number when its goods ship (OrderShipped), why when it is cancelled (OrderCancelled), and each
 * refund payments issued (RefundIssued). Users
 * holds the addresses, so it sends them. A mail is queued in the event's transaction under the
 * event's id, so a redelivered event mails once; a deleted account gets none. Events from a release
 * before these mails (no buyer, no total) are let pass without one.
 */
export function orderMailHandlers(mailer: Pick<Mailer, 'send'>): EventHandlers {
  async function mailBuyer(em: EntityManager, envelope: EventEnvelope, compose: (to: string, name: string) => MailMessage): Promise<void> {
    const { userId } = envelope.data as { userId?: unknown };
    if (!isUuid(userId)) throw malformed(envelope, 'userId');
    const user = await em.findOne(UserEntity, { id: userId, deletedAt: null });
    if (!user?.email) return;
    await mailer.send(compose(user.email, user.name), { dedupId: `order-mail-${envelope.id}` });
  }

  return {
    OrderConfirmed: async (em, envelope) => {
      if (envelope.data.totalAmount === undefined) return;
      const order = readConfirmedOrder(envelope);
      await mailBuyer(em, envelope, (to, name) => orderConfirmedMail(to, name, order));
    },
    OrderShipped: async (em, envelope) => {
      const { orderId, trackingNumber } = envelope.data as Record<string, unknown>;
      if (!isUuid(orderId) || !isText(trackingNumber, 100)) throw malformed(envelope, 'orderId and trackingNumber');
      await mailBuyer(em, envelope, (to, name) => orderShippedMail(to, name, orderId, trackingNumber));
    },
    OrderCancelled: async (em, envelope) => {
      if (envelope.data.userId === undefined) return;
      const { orderId, reason } = envelope.data as Record<string, unknown>;
      if (!isUuid(orderId) || !isCancelReason(reason)) throw malformed(envelope, 'orderId and reason');
      await mailBuyer(em, envelope, (to, name) => orderCancelledMail(to, name, orderId, reason));
    },
    RefundIssued: async (em, envelope) => {
      if (envelope.data.userId === undefined) return;
      const { orderId, amount, currency } = envelope.data as Record<string, unknown>;
      if (!isUuid(orderId) || !isCount(amount) || !isText(currency, 3)) throw malformed(envelope, 'orderId, amount and currency');
      await mailBuyer(em, envelope, (to, name) => refundIssuedMail(to, name, orderId, amount, currency));
    },
  };
}
