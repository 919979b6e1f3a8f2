/**
 * Domain events (DESIGN.md, "Events"): envelope and catalog, the outbox relay (Postgres → BullMQ,
 * one queue `events-<subgraph>` per consumer, one job per drain and queue), the inbox-deduplicating consumer,
 * and failed-job inspection/replay. Migrations include OUTBOX_DDL (producers) and INBOX_DDL
 * (consumers); relays wake on their own process's commits, not on NOTIFY.
 */
export * from './envelope';
export * from './redis';
export * from './metrics';
export * from './inbox';
export * from './relay';
export * from './consumer';
export * from './replay';
export * from './eventing';
export * from './retention';
export * from './coalesced-wake';
export * from './lazy-queue';
