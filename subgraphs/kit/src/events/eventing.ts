import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Tracing } from '../tracing';
import { createEventConsumer, type EventConsumer, type EventHandlers } from './consumer';
import type { RedisTarget } from './redis';
import { createOutboxRelay, type OutboxRelay } from './relay';

export interface EventingOptions {
  orm: MikroORM;
  redis: RedisTarget;
  /** This subgraph: the relay's source and the consumer's queue. */
  subgraph: string;
  log: Logger;
  /** Handlers of the events this subgraph consumes; none means no consumer. */
  handlers?: EventHandlers;
  /** BullMQ key prefix shared by relay and consumer (tests use a unique one). */
  prefix?: string;
  concurrency?: number;
  /** See EventConsumerOptions.batchSize. */
  batchSize?: number;
  /** See OutboxRelayOptions.pollIntervalMs. */
  pollIntervalMs?: number;
  /** See OutboxRelayOptions.commitWakeDelayMs. */
  commitWakeDelayMs?: number;
  metrics?: Registry;
  /** Spans of the events consumed. */
  tracing?: Tracing;
}

export interface Eventing {
  relay: OutboxRelay;
  consumer: EventConsumer | null;
  close(): Promise<void>;
}

/** A subgraph's side of the event bus: its outbox relay and, when it consumes events, its consumer. */
export async function startEventing(options: EventingOptions): Promise<Eventing> {
  const { orm, redis, subgraph, log, prefix, metrics } = options;
  const relay = createOutboxRelay({ orm, redis, source: subgraph, log, prefix, metrics, pollIntervalMs: options.pollIntervalMs, commitWakeDelayMs: options.commitWakeDelayMs });
  await relay.start();
  const consumer =
    options.handlers && Object.keys(options.handlers).length > 0
      ? createEventConsumer({ orm, redis, subgraph, log, handlers: options.handlers, prefix, metrics, concurrency: options.concurrency, batchSize: options.batchSize, tracing: options.tracing })
      : null;
  return {
    relay,
    consumer,
    async close() {
      await consumer?.close();
      await relay.stop();
    },
  };
}
