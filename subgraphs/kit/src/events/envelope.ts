import { createHash } from 'node:crypto';
import type { OutboxEvent } from '../outbox';

/** Every process of the supergraph that can produce or consume domain events. */
export const SUBGRAPHS = ['users', 'catalog', 'orders', 'payments', 'inventory', 'trading', 'portfolio', 'signals', 'analytics'] as const;
export type SubgraphName = (typeof SUBGRAPHS)[number];

/**
 * The event catalog of DESIGN.md ("Events"): which subgraphs consume each event type.
 * The relay publishes an event to one queue per consumer listed here.
 */
export const EVENT_ROUTES = {
  UserRegistered: ['analytics'],
  // Beyond DESIGN.md's table: a user deleted their account; each subgraph erases what it holds of them.
  UserDeleted: ['catalog', 'orders', 'trading', 'portfolio', 'signals', 'analytics'],
  // Not inventory, unlike DESIGN.md's table: inventory gets a product's kind from the router (@requires).
  ProductChanged: ['orders', 'analytics'],
  PlanChanged: ['users', 'signals', 'analytics'],
  OrderPlaced: ['inventory'],
  StockReserved: ['orders'],
  StockRejected: ['orders'],
  PaymentRequested: ['payments'],
  PaymentSucceeded: ['orders', 'analytics'],
  PaymentFailed: ['orders', 'analytics'],
  // users joins DESIGN.md's consumers: it tells the buyer the money is on its way back.
  RefundIssued: ['orders', 'analytics', 'users'],
  // Beyond DESIGN.md's table: Stripe reported a refund failed after all (refunds are final only when Stripe says so).
  RefundFailed: ['orders', 'analytics'],
  // users joins DESIGN.md's consumers of both: it mails the buyer (a receipt; why it was cancelled).
  OrderConfirmed: ['inventory', 'analytics', 'users'],
  // payments joins DESIGN.md's consumers: a payment that succeeded late for a cancelled order is refunded.
  OrderCancelled: ['inventory', 'payments', 'analytics', 'users'],
  // Beyond DESIGN.md's table: an admin shipped an order's goods; users mails the buyer the tracking number.
  OrderShipped: ['users'],
  // Beyond DESIGN.md's table: an admin approved a return; payments refunds, inventory restocks goods.
  ReturnApproved: ['payments', 'inventory', 'analytics'],
  LowStock: ['analytics'],
  // Beyond DESIGN.md's table: inventory's reservation TTL fired before payment; orders cancels with EXPIRED.
  ReservationExpired: ['orders', 'analytics'],
  // Fewer than DESIGN.md's table: portfolio builds everything from fills, and an event it only acknowledged
  // cost a queue job and an inbox transaction per order change.
  TradeOrderUpdated: ['analytics'],
  FillExecuted: ['portfolio', 'analytics'],
  SignalReceived: ['analytics'],
  SignalScreenshotReady: ['analytics'],
  SignalResolved: ['analytics'],
} as const satisfies Record<string, readonly SubgraphName[]>;

export type EventType = keyof typeof EVENT_ROUTES;
export const EVENT_TYPES = Object.keys(EVENT_ROUTES) as EventType[];

/** Routing table shape; `EVENT_ROUTES` is the default everywhere a table can be passed. */
export type EventRoutes = Readonly<Record<string, readonly string[]>>;

/** The producing subgraph of each event type (the "from" column of DESIGN.md). */
export const EVENT_SOURCES: Readonly<Record<EventType, SubgraphName>> = {
  UserRegistered: 'users',
  UserDeleted: 'users',
  ProductChanged: 'catalog',
  PlanChanged: 'orders',
  OrderPlaced: 'orders',
  StockReserved: 'inventory',
  StockRejected: 'inventory',
  PaymentRequested: 'orders',
  PaymentSucceeded: 'payments',
  PaymentFailed: 'payments',
  RefundIssued: 'payments',
  RefundFailed: 'payments',
  OrderConfirmed: 'orders',
  OrderCancelled: 'orders',
  OrderShipped: 'orders',
  ReturnApproved: 'orders',
  LowStock: 'inventory',
  ReservationExpired: 'inventory',
  TradeOrderUpdated: 'trading',
  FillExecuted: 'trading',
  SignalReceived: 'signals',
  SignalScreenshotReady: 'signals',
  SignalResolved: 'signals',
};

/** One event as it travels on the queues (a job's data, or one of a batch job's events). */
export interface EventEnvelope<T extends string = string, D extends Record<string, unknown> = Record<string, unknown>> {
  /** uuid of the outbox row; also the inbox key, and the BullMQ job id of a job carrying only this event. */
  id: string;
  type: T;
  version: number;
  /** ISO 8601 timestamp. */
  occurredAt: string;
  /** Producing subgraph. */
  source: string;
  /** Id of the aggregate the event is about (e.g. an order id). */
  subject: string;
  data: D;
  /** The W3C `traceparent` of the span that wrote the event, when it ran in one. */
  traceparent?: string;
}

/**
 * A job carrying several events of one relay drain for one queue, in outbox order: the relay adds one
 * job where it had events for a queue rather than one per event, as a job costs BullMQ and Redis far
 * more than an event's bytes.
 */
export interface EventBatch {
  events: EventEnvelope[];
}

/** What a job of an event queue carries: one event (job id = event id) or a batch. */
export type EventJobData = EventEnvelope | EventBatch;

export const EVENT_BATCH_JOB = 'batch';

export function isEventBatch(value: unknown): value is EventBatch {
  return typeof value === 'object' && value !== null && Array.isArray((value as EventBatch).events);
}

/** The events a job carries, as they are (not checked). */
export function eventsOfJob(data: EventJobData): readonly unknown[] {
  return isEventBatch(data) ? data.events : [data];
}

/**
 * A batch's job id: a digest of its events' ids, so a batch published again after a crash (the same
 * rows, claimed again) is deduplicated by BullMQ like a single event's job, while a batch that
 * differs by any event is a job of its own (the consumer's inbox skips the events it already applied).
 */
export function batchJobId(envelopes: readonly EventEnvelope[]): string {
  const digest = createHash('sha256');
  for (const envelope of envelopes) digest.update(envelope.id);
  return `batch-${digest.digest('hex').slice(0, 32)}`;
}

/** BullMQ queue of a consuming subgraph (queue names cannot contain ':'). */
export function eventQueueName(subgraph: string): string {
  return `events-${subgraph}`;
}

/** Consumers of an event type; none for a type the table does not know. */
export function consumersOf(type: string, routes: EventRoutes = EVENT_ROUTES): readonly string[] {
  return Object.prototype.hasOwnProperty.call(routes, type) ? routes[type] : [];
}

export function isKnownEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_ROUTES, type);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Structural check of a job's data before it is trusted as an envelope. */
export function isEventEnvelope(value: unknown): value is EventEnvelope {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === 'string' &&
    UUID.test(v.id) &&
    typeof v.type === 'string' &&
    v.type.length > 0 &&
    typeof v.version === 'number' &&
    typeof v.occurredAt === 'string' &&
    typeof v.source === 'string' &&
    typeof v.subject === 'string' &&
    typeof v.data === 'object' &&
    v.data !== null
  );
}

/** A row of the outbox as the relay reads it (raw SQL, snake_case columns). */
export interface OutboxRow {
  id: string;
  type: string;
  version: number;
  occurred_at: Date | string;
  source: string;
  subject: string;
  data: Record<string, unknown> | string;
  traceparent: string | null;
}

export function envelopeFromRow(row: OutboxRow): EventEnvelope {
  return {
    id: row.id,
    type: row.type,
    version: Number(row.version),
    occurredAt: new Date(row.occurred_at).toISOString(),
    source: row.source,
    subject: row.subject,
    data: typeof row.data === 'string' ? (JSON.parse(row.data) as Record<string, unknown>) : row.data,
    ...(row.traceparent ? { traceparent: row.traceparent } : {}),
  };
}

export function envelopeFromEntity(event: OutboxEvent): EventEnvelope {
  return {
    id: event.id,
    type: event.type,
    version: event.version,
    occurredAt: event.occurredAt.toISOString(),
    source: event.source,
    subject: event.subject,
    data: event.data,
    ...(event.traceparent ? { traceparent: event.traceparent } : {}),
  };
}
