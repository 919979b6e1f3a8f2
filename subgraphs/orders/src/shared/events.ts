import { UnrecoverableError } from 'bullmq';
import type { EntityManager } from '../../../kit/src';
import type { EventEnvelope } from '../../../kit/src/events';

export type { EventEnvelope, EventHandler, EventHandlers } from '../../../kit/src/events';

/**
 * A payload that does not have the documented shape. It extends bullmq's UnrecoverableError, so the
 * consumer fails the job at once (retrying would fail the same way) and leaves it for inspection.
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
    string(field: string, maxLength = 200): string {
      const value = data[field];
      if (typeof value !== 'string' || value.trim() === '' || value.length > maxLength) throw fail(`data.${field} must be a non-empty string of at most ${maxLength} characters`);
      return value;
    },
    optionalString(field: string, maxLength = 500): string | null {
      const value = data[field];
      if (value === undefined || value === null) return null;
      if (typeof value !== 'string' || value.length > maxLength) throw fail(`data.${field} must be a string of at most ${maxLength} characters`);
      return value;
    },
    int(field: string, min = 0, max = 2_147_483_647): number {
      const value = data[field];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw fail(`data.${field} must be an integer between ${min} and ${max}`);
      return value;
    },
    boolean(field: string): boolean {
      const value = data[field];
      if (typeof value !== 'boolean') throw fail(`data.${field} must be a boolean`);
      return value;
    },
    oneOf<T extends string>(field: string, values: readonly T[]): T {
      const value = data[field];
      if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) throw fail(`data.${field} must be one of ${values.join(', ')}`);
      return value as T;
    },
    currency(field: string): string {
      const value = data[field];
      if (typeof value !== 'string' || !/^[A-Z]{3}$/.test(value)) throw fail(`data.${field} must be an ISO 4217 code`);
      return value;
    },
  };
}

/** `occurredAt` as a Date; an unreadable one is a malformed envelope. */
export function occurredAtOf(envelope: EventEnvelope): Date {
  const at = new Date(envelope.occurredAt);
  if (Number.isNaN(at.getTime())) throw new EventPayloadError(envelope, 'occurredAt must be a date');
  return at;
}

/**
 * Runs `work` in a transaction: the caller's when there is one (the consumer's, with the inbox row),
 * else a new one. Flushes before returning so the effect is written inside that transaction.
 */
export async function withinTransaction<T>(em: EntityManager, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  if (em.isInTransaction()) {
    const result = await work(em);
    await em.flush();
    return result;
  }
  return em.transactional(work);
}
