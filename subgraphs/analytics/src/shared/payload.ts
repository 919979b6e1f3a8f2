import type { EventEnvelope } from '../../../kit/src/events';
import { CURRENCY_PATTERN } from './money';

/**
 * A payload analytics cannot account for (a required field missing or of the wrong shape). The
 * event is logged, counted and acknowledged: retrying it would fail the same way, and leaving it
 * in the failed set would let the queue grow again.
 */
export class MalformedPayloadError extends Error {
  constructor(envelope: Pick<EventEnvelope, 'id' | 'type'>, readonly problem: string) {
    super(`${envelope.type} event ${envelope.id}: ${problem}`);
    this.name = 'MalformedPayloadError';
  }
}

const ID = /^[\x21-\x7e]{1,100}$/;
/** A plain non-negative decimal string, as trading writes them. */
const DECIMAL = /^\d{1,30}(\.\d{1,18})?$/;
const MAX_INT = 2_147_483_647;

export interface EventLine {
  productId: string;
  quantity: number;
  /** The unit price charged, minor units (OrderConfirmed since it carries it). */
  unitAmount?: number;
}

/**
 * Reads of an event's `data` that ignore unknown fields: required reads throw MalformedPayloadError,
 * optional reads fall back when a field is missing or has the wrong type.
 */
export function payloadReader(envelope: EventEnvelope) {
  const data = (envelope.data ?? {}) as Record<string, unknown>;
  const fail = (problem: string) => new MalformedPayloadError(envelope, problem);
  const occurredAt = new Date(envelope.occurredAt);
  if (Number.isNaN(occurredAt.getTime())) throw fail('occurredAt is not an ISO 8601 time');
  const reader = {
    /** When the event happened: the producer's occurredAt. */
    occurredAt,
    fail,
    id(field: string): string {
      const value = data[field];
      if (typeof value !== 'string' || !ID.test(value)) throw fail(`data.${field} must be an id of 1 to 100 visible characters`);
      return value;
    },
    optionalId(field: string): string | null {
      const value = data[field];
      return typeof value === 'string' && ID.test(value) ? value : null;
    },
    /** A short label (plan, status, asset); `pattern` checks it. */
    label(field: string, pattern: RegExp): string {
      const value = data[field];
      if (typeof value !== 'string' || !pattern.test(value)) throw fail(`data.${field} must match ${pattern}`);
      return value;
    },
    optionalLabel(field: string, pattern: RegExp): string | null {
      const value = data[field];
      return typeof value === 'string' && pattern.test(value) ? value : null;
    },
    /** Minor units: a non-negative integer. */
    amount(field: string): number {
      const value = data[field];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > Number.MAX_SAFE_INTEGER) throw fail(`data.${field} must be a non-negative integer`);
      return value;
    },
    optionalInt(field: string): number | null {
      const value = data[field];
      return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= MAX_INT ? value : null;
    },
    /** An ISO 4217 code, upper case. */
    currency(field: string): string {
      const value = data[field];
      const code = typeof value === 'string' ? value.toUpperCase() : '';
      if (!CURRENCY_PATTERN.test(code)) throw fail(`data.${field} must be an ISO 4217 currency code`);
      return code;
    },
    decimal(field: string): string {
      const value = data[field];
      if (typeof value !== 'string' || !DECIMAL.test(value)) throw fail(`data.${field} must be a non-negative decimal string`);
      return value;
    },
    optionalDecimal(field: string): string | null {
      const value = data[field];
      return typeof value === 'string' && DECIMAL.test(value) ? value : null;
    },
    /** A time in the payload, else when the event occurred. */
    timeOr(field: string): Date {
      const value = data[field];
      const at = typeof value === 'string' ? new Date(value) : null;
      return at && !Number.isNaN(at.getTime()) ? at : occurredAt;
    },
    /** Order lines `{ productId, quantity, unitAmount? }` (other line fields ignored); `required` refuses a missing list. */
    lines(field: string, required: boolean): EventLine[] {
      const value = data[field];
      if (value === undefined || value === null) {
        if (required) throw fail(`data.${field} must be a list of lines`);
        return [];
      }
      if (!Array.isArray(value)) throw fail(`data.${field} must be a list of lines`);
      return value.map((item: unknown, index) => {
        const line = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
        const { productId, quantity, unitAmount } = line;
        if (typeof productId !== 'string' || !ID.test(productId)) throw fail(`data.${field}[${index}].productId must be an id`);
        if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > MAX_INT) throw fail(`data.${field}[${index}].quantity must be a positive integer`);
        if (unitAmount === undefined || unitAmount === null) return { productId, quantity };
        if (typeof unitAmount !== 'number' || !Number.isSafeInteger(unitAmount) || unitAmount < 0) throw fail(`data.${field}[${index}].unitAmount must be a non-negative integer`);
        return { productId, quantity, unitAmount };
      });
    },
  };
  return reader;
}
