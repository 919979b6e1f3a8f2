import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { recordEvent, type EntityManager } from '../../../kit/src';
import type { EventEnvelope, EventHandlers } from '../../../kit/src/events';
import { INVENTORY_EVENT_SOURCE } from '../stock/stock.events';
import type { ReservationService } from './reservation.service';

// ---- consumed (from orders) ----
export const ORDER_PLACED = 'OrderPlaced';
export const ORDER_CONFIRMED = 'OrderConfirmed';
export const ORDER_CANCELLED = 'OrderCancelled';

// ---- produced (to orders; subject: the order id) ----
export const STOCK_RESERVED = 'StockReserved';
export const STOCK_REJECTED = 'StockRejected';
/** Beyond DESIGN.md's table; routed to orders (and analytics) by the kit's EVENT_ROUTES. */
export const RESERVATION_EXPIRED = 'ReservationExpired';

export interface OrderLine {
  productId: string;
  kind: string;
  quantity: number;
}

/** `OrderPlaced` → reserve every GOOD line or none. */
export interface OrderPlacedData {
  orderId: string;
  userId: string;
  lines: OrderLine[];
  total: { amount: number; currency: string };
}

/** `OrderConfirmed` → commit the reservation. */
export interface OrderConfirmedData {
  orderId: string;
  userId: string;
  lines: OrderLine[];
}

/** `OrderCancelled` → release the reservation. */
export interface OrderCancelledData {
  orderId: string;
  reason: string;
  lines: OrderLine[];
  reservationId?: string;
}

/** Every GOOD of the order is held until `expiresAt` (ISO 8601); an order without goods gets an empty reservation. */
export interface StockReservedData {
  orderId: string;
  reservationId: string;
  expiresAt: string;
}

/** Nothing is held: `productIds` (sorted) lacked stock. */
export interface StockRejectedData {
  orderId: string;
  reason: 'OUT_OF_STOCK';
  productIds: string[];
}

/** The hold ran out before payment and its units were released; orders cancels with EXPIRED. */
export interface ReservationExpiredData {
  orderId: string;
  reservationId: string;
}

export const recordStockReserved = (em: EntityManager, data: StockReservedData) => recordEvent(em, INVENTORY_EVENT_SOURCE, STOCK_RESERVED, data.orderId, { ...data });
export const recordStockRejected = (em: EntityManager, data: StockRejectedData) => recordEvent(em, INVENTORY_EVENT_SOURCE, STOCK_REJECTED, data.orderId, { ...data });
export const recordReservationExpired = (em: EntityManager, data: ReservationExpiredData) =>
  recordEvent(em, INVENTORY_EVENT_SOURCE, RESERVATION_EXPIRED, data.orderId, { ...data });

/**
 * An event whose `data` lacks the documented shape. Retrying cannot help, so it extends bullmq's
 * UnrecoverableError: the consumer fails the job at once and leaves it in the failed set.
 */
export class EventPayloadError extends UnrecoverableError {
  constructor(envelope: Pick<EventEnvelope, 'id' | 'type'>, problem: string) {
    super(`${envelope.type} event ${envelope.id}: ${problem}`);
    this.name = 'EventPayloadError';
  }
}

const MAX_ID_LENGTH = 100;
/** Postgres int; a quantity this large is refused anyway (no stock reaches it). */
const MAX_QUANTITY = 2_147_483_647;

export function readString(envelope: EventEnvelope, data: Record<string, unknown>, field: string, maxLength = MAX_ID_LENGTH): string {
  const value = data[field];
  if (typeof value !== 'string' || value.trim() === '' || value.length > maxLength) {
    throw new EventPayloadError(envelope, `data.${field} must be a non-empty string of at most ${maxLength} characters`);
  }
  return value;
}

export function readLines(envelope: EventEnvelope, data: Record<string, unknown>): OrderLine[] {
  const lines = data.lines;
  if (!Array.isArray(lines)) throw new EventPayloadError(envelope, 'data.lines must be an array');
  return lines.map((line: unknown, index) => {
    if (typeof line !== 'object' || line === null) throw new EventPayloadError(envelope, `data.lines[${index}] must be an object`);
    const { productId, kind, quantity } = line as Record<string, unknown>;
    if (typeof productId !== 'string' || productId.trim() === '' || productId.length > MAX_ID_LENGTH) {
      throw new EventPayloadError(envelope, `data.lines[${index}].productId must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
    }
    if (typeof kind !== 'string' || kind === '') throw new EventPayloadError(envelope, `data.lines[${index}].kind must be a product kind`);
    if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) {
      throw new EventPayloadError(envelope, `data.lines[${index}].quantity must be a positive integer`);
    }
    return { productId, kind, quantity };
  });
}

export const dataOf = (envelope: EventEnvelope) => (envelope.data ?? {}) as Record<string, unknown>;

/** The part of OrderPlaced inventory uses (the total is not its business). */
export function parseOrderPlaced(envelope: EventEnvelope): Omit<OrderPlacedData, 'total'> {
  const data = dataOf(envelope);
  return { orderId: readString(envelope, data, 'orderId'), userId: readString(envelope, data, 'userId'), lines: readLines(envelope, data) };
}

/** OrderConfirmed and OrderCancelled are settled from the reservation's own lines: only the order id is needed. */
export function parseOrderId(envelope: EventEnvelope): string {
  return readString(envelope, dataOf(envelope), 'orderId');
}

export function parseOrderCancelled(envelope: EventEnvelope): { orderId: string; reason: string; reservationId: string | null } {
  const data = dataOf(envelope);
  const reason = typeof data.reason === 'string' && data.reason.trim() !== '' ? data.reason : 'UNKNOWN';
  const reservationId = typeof data.reservationId === 'string' && data.reservationId !== '' ? data.reservationId : null;
  return { orderId: readString(envelope, data, 'orderId'), reason, reservationId };
}

/**
 * Inventory's handlers for the kit's `createEventConsumer({ subgraph: 'inventory', handlers })`.
 * Each runs in the consumer's transaction with the inbox row, so a redelivered event has no
 * second effect; the reservation's unique order id and its status make every step idempotent
 * besides (a second OrderPlaced for an order, a confirm after a release, and so on change nothing).
 */
export function createReservationEventHandlers(service: ReservationService, log: Logger): EventHandlers {
  return {
    [ORDER_PLACED]: async (em, envelope, hooks) => {
      const order = parseOrderPlaced(envelope);
      const result = await service.reserve(em, order, hooks?.afterCommit);
      const context = { eventId: envelope.id, orderId: order.orderId };
      if (result.outcome === 'reserved') log.info({ ...context, reservationId: result.reservation.id, lines: result.reservation.lines.length }, 'stock reserved');
      else if (result.outcome === 'rejected') log.info({ ...context, productIds: result.productIds }, 'stock rejected: out of stock');
      else log.warn({ ...context, reservationId: result.reservation.id, status: result.reservation.status }, 'order already has a reservation; OrderPlaced ignored');
    },

    [ORDER_CONFIRMED]: async (em, envelope) => {
      const orderId = parseOrderId(envelope);
      const result = await service.commit(em, orderId);
      const context = { eventId: envelope.id, orderId };
      if (result.outcome === 'committed') log.info({ ...context, reservationId: result.reservation.id }, 'reservation committed');
      else if (result.outcome === 'not-found') log.warn(context, 'order confirmed without a reservation; nothing to commit');
      else if (result.reservation.status === 'COMMITTED') log.debug({ ...context, reservationId: result.reservation.id }, 'reservation already committed');
      // Paid after the hold ended: the units may be sold to someone else; orders deals with the late payment.
      else log.warn({ ...context, reservationId: result.reservation.id, status: result.reservation.status }, 'order confirmed after its reservation ended; stock not committed');
    },

    [ORDER_CANCELLED]: async (em, envelope) => {
      const { orderId, reason, reservationId } = parseOrderCancelled(envelope);
      const result = await service.release(em, orderId, reason);
      const context = { eventId: envelope.id, orderId, reason };
      if (result.outcome === 'released') {
        if (reservationId !== null && reservationId !== result.reservation.id) {
          log.warn({ ...context, reservationId: result.reservation.id, eventReservationId: reservationId }, 'OrderCancelled names another reservation of the order');
        }
        log.info({ ...context, reservationId: result.reservation.id }, 'reservation released');
      } else if (result.outcome === 'not-found') log.info(context, 'order cancelled before any reservation; nothing to release');
      else log.debug({ ...context, reservationId: result.reservation.id, status: result.reservation.status }, 'reservation not held; nothing to release');
    },
  };
}
