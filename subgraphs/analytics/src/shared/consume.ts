import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { EntityManager } from '../../../kit/src';
import { batchedEventHandler, type EventEnvelope, type EventHandler, type EventHandlerHooks, type EventHandlers } from '../../../kit/src/events';
import { MalformedPayloadError } from './payload';

/**
 * How analytics applies one event type: `parse` reads everything the effect needs (throwing
 * MalformedPayloadError) before `apply` writes anything, so a bad payload never half-applies.
 */
export interface RollupHandler<T> {
  parse(envelope: EventEnvelope): T;
  apply(em: EntityManager, event: T, envelope: EventEnvelope): Promise<void>;
}

/** An event as its rollup parsed it. */
export interface ParsedEvent<T = unknown> {
  event: T;
  envelope: EventEnvelope;
}

/**
 * Applies several parsed events in set-based statements, in the order they arrived; rollups of
 * several types may share one, and the consumer then hands it their mixed runs.
 */
export type RollupBatch = (em: EntityManager, events: readonly ParsedEvent[]) => Promise<void>;

/** A rollup whose consumer batches become a few statements instead of a few per event. */
export interface BatchedRollupHandler<T> {
  parse(envelope: EventEnvelope): T;
  applyAll: RollupBatch;
}

export type RollupHandlers = Record<string, RollupHandler<any> | BatchedRollupHandler<any>>;

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
  const NOT_PARSED = Symbol('malformed');

  /** The event as its rollup reads it, or NOT_PARSED once a malformed payload is logged and its count queued. */
  async function parsed(envelope: EventEnvelope, hooks?: EventHandlerHooks): Promise<unknown> {
    try {
      return handlers[envelope.type]!.parse(envelope);
    } catch (error) {
      if (!(error instanceof MalformedPayloadError)) throw error;
      deps.log.warn({ eventId: envelope.id, type: envelope.type, source: envelope.source, problem: error.problem }, 'malformed event payload; skipped');
      const count = async () => void malformed.inc({ type: envelope.type });
      if (hooks) hooks.afterCommit(count);
      else await count();
      return NOT_PARSED;
    }
  }

  // One kit handler per batch function, so the consumer hands it runs of every type that shares it.
  const batched = new Map<RollupBatch, EventHandler>();
  const batchedHandler = (applyAll: RollupBatch): EventHandler => {
    let handler = batched.get(applyAll);
    if (!handler) {
      handler = batchedEventHandler(async (em, envelopes, hooks) => {
        const events: ParsedEvent[] = [];
        for (const envelope of envelopes) {
          const event = await parsed(envelope, hooks);
          if (event !== NOT_PARSED) events.push({ event, envelope });
        }
        if (events.length > 0) await applyAll(em, events);
      });
      batched.set(applyAll, handler);
    }
    return handler;
  };

  return Object.fromEntries(
    Object.entries(handlers).map(([type, handler]): [string, EventHandler] => {
      if ('applyAll' in handler) return [type, batchedHandler(handler.applyAll)];
      return [
        type,
        async (em, envelope, hooks) => {
          const event = await parsed(envelope, hooks);
          if (event !== NOT_PARSED) await handler.apply(em, event, envelope);
        },
      ];
    }),
  );
}
