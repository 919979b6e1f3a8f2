import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { EntityManager } from '../../../kit/src';
import type { EventEnvelope, EventHandlerHooks, EventHandlers } from '../../../kit/src/events';
import { MalformedPayloadError } from './payload';

/**
 * How analytics applies one event type: `parse` reads everything the effect needs (throwing
 * MalformedPayloadError) before `apply` writes anything, so a bad payload never half-applies.
 */
export interface RollupHandler<T> {
  parse(envelope: EventEnvelope): T;
  apply(em: EntityManager, event: T, envelope: EventEnvelope): Promise<void>;
}

export type RollupHandlers = Record<string, RollupHandler<any>>;

export const MALFORMED_METRIC = 'analytics_events_malformed_total';

/** Counter of events acknowledged without effect because their payload was malformed (one per registry). */
export function malformedCounter(registry: Registry): Counter<'type'> {
  const existing = registry.getSingleMetric(MALFORMED_METRIC);
  if (existing) return existing as Counter<'type'>;
  return new Counter({ name: MALFORMED_METRIC, help: 'Domain events analytics skipped because their payload was malformed', labelNames: ['type'], registers: [registry] });
}

/**
 * The kit consumer's handlers: each runs in the consumer's transaction with the inbox row. A
 * malformed payload is logged, counted once its (inbox-only) transaction commits, and acknowledged;
 * any other error (the database) throws, so the job is retried.
 */
export function toEventHandlers(handlers: RollupHandlers, deps: { log: Logger; registry: Registry }): EventHandlers {
  const malformed = malformedCounter(deps.registry);
  return Object.fromEntries(
    Object.entries(handlers).map(([type, handler]) => [
      type,
      async (em: EntityManager, envelope: EventEnvelope, hooks?: EventHandlerHooks) => {
        let event: unknown;
        try {
          event = handler.parse(envelope);
        } catch (error) {
          if (!(error instanceof MalformedPayloadError)) throw error;
          deps.log.warn({ eventId: envelope.id, type: envelope.type, source: envelope.source, problem: error.problem }, 'malformed event payload; skipped');
          const count = async () => void malformed.inc({ type: envelope.type });
          if (hooks) hooks.afterCommit(count);
          else await count();
          return;
        }
        await handler.apply(em, event, envelope);
      },
    ]),
  );
}
