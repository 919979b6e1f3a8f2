/**
 * Domain events (DESIGN.md, "Events"): envelope and catalog, the outbox relay (Postgres → BullMQ,
 * one queue `events-<subgraph>` per consumer, jobId = event id), the inbox-deduplicating consumer,
 * and failed-job inspection/replay. Migrations include OUTBOX_DDL, OUTBOX_NOTIFY_DDL (producers)
 * and INBOX_DDL (consumers).
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
