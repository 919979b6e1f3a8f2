import { UnrecoverableError } from 'bullmq';
import type { EventEnvelope } from '../../../kit/src/events';
import { isDecimalString } from './decimal';

/**
 * A payload without the documented shape. It extends bullmq's UnrecoverableError: the consumer
 * fails the job at once (a retry would fail the same way) and leaves it in the failed set.
 */
export class EventPayloadError extends UnrecoverableError {
  constructor(envelope: Pick<EventEnvelope, 'id' | 'type'>, problem: string) {
    super(`${envelope.type} event ${envelope.id}: ${problem}`);
    this.name = 'EventPayloadError';
  }
}

/** Typed reads of an event's `data`, each throwing EventPayloadError on a wrong shape. */
export function payloadReader(envelope: EventEnvelope) {
  const data = (envelope.data ?? {}) as Record<string, unknown>;
  const fail = (problem: string) => new EventPayloadError(envelope, problem);
  return {
    fail,
    string(field: string, maxLength = 100, pattern?: RegExp): string {
      const value = data[field];
      if (typeof value !== 'string' || value.trim() === '' || value.length > maxLength) throw fail(`data.${field} must be a non-empty string of at most ${maxLength} characters`);
      if (pattern && !pattern.test(value)) throw fail(`data.${field} must match ${pattern}`);
      return value;
    },
    oneOf<T extends string>(field: string, values: readonly T[]): T {
      const value = data[field];
      if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) throw fail(`data.${field} must be one of ${values.join(', ')}`);
      return value as T;
    },
    /** A decimal string, positive unless `allowZero`. */
    decimal(field: string, allowZero = false): string {
      const value = data[field];
      if (!isDecimalString(value) || (!allowZero && Number(value) === 0)) throw fail(`data.${field} must be a ${allowZero ? 'non-negative' : 'positive'} decimal string`);
      return value;
    },
    date(field: string): Date {
      const value = data[field];
      const at = typeof value === 'string' ? new Date(value) : null;
      if (!at || Number.isNaN(at.getTime())) throw fail(`data.${field} must be an ISO 8601 time`);
      return at;
    },
  };
}
