import type { MikroORM } from '@mikro-orm/postgresql';
import type DataLoader from 'dataloader';
import type { Counter } from 'prom-client';
import { createBatcher, sqlQuery } from '../../../kit/src';
import type { Plan } from '../plan/plan';
import { SIGNALS_EVENT_SOURCE } from '../signal/signal.outbox';
import type { SignalAction } from './normalize';

export interface EndpointRow {
  id: string;
  user_id: string;
  token_hash: Buffer;
  revoked: boolean;
  passphrase_salt: Buffer | null;
  passphrase_hash: Buffer | null;
  tradingview_ips_only: boolean;
  default_exchange: string | null;
  default_timeframe: string | null;
  default_indicator: string | null;
  default_take_profit: string | null;
  default_stop_loss: string | null;
  plan: Plan;
  /** The owner's TradingView session, sealed (null: none). */
  tv_sealed_cookies: string | null;
  tv_default_chart_id: string | null;
  /** Fingerprint of all the above (`signals_endpoint_state`): a delivery judged on it is stored only while it still matches. Null when revoked. */
  state: string | null;
}

/** An endpoint found by its token, and whether it came from memory (a judgement on it may be stale). */
export interface EndpointLookup {
  row: EndpointRow | null;
  fromMemory: boolean;
}

export interface SignalRow {
  id: string;
  indicator: string | null;
  ticker: string;
  exchange: string | null;
  symbol: string;
  price: string | null;
  signal_type: string | null;
  action: SignalAction;
  timeframe: string | null;
  chart_id: string | null;
  take_profit: string | null;
  stop_loss: string | null;
  quantity: string | null;
  alert_time: string | null;
  extra: Record<string, unknown> | null;
  message: string | null;
  received_at: string;
}

export interface OutboxEventRow {
  id: string;
  type: string;
  occurred_at: string;
  subject: string;
  data: object;
  /** The span of the request that received the alert, so the event's consumers continue its trace. */
  traceparent: string | null;
}

/** One accepted delivery's write: its dedup key, the quota it counts against, its signals and events. */
export interface Delivery {
  /** sha256 of the endpoint and the body: a retry has the same key. */
  key: Buffer;
  endpointId: string;
  /** The endpoint's `state` the delivery was judged on: it is not stored if the endpoint changed since. */
  endpointState: string | null;
  userId: string;
  /** First day of the quota month (YYYY-MM-DD). */
  month: string;
  limit: number;
  signals: SignalRow[];
  events: OutboxEventRow[];
}

export type StoreOutcome =
  | { outcome: 'CREATED'; signalIds: string[]; used: number }
  | { outcome: 'DUPLICATE'; signalIds: string[] }
  | { outcome: 'QUOTA_EXCEEDED'; used: number }
  /** Nothing written: the endpoint changed after the delivery was judged. */
  | { outcome: 'STALE' };

const ENDPOINTS_BY_TOKEN = `select e."id", e."user_id", e."token_hash", e."revoked_at" is not null as "revoked", e."passphrase_salt", e."passphrase_hash",
        e."tradingview_ips_only", e."default_exchange", e."default_timeframe", e."default_indicator", e."default_take_profit", e."default_stop_loss",
        coalesce(p."plan", 'free') as "plan", t."sealed_cookies" as "tv_sealed_cookies", t."default_chart_id" as "tv_default_chart_id",
        case when e."revoked_at" is null then "signals_endpoint_state"(e."id") end as "state"
   from "webhook_endpoint" e left join "user_plan" p on p."user_id" = e."user_id"
        left join "tradingview_session" t on t."user_id" = e."user_id"
  where e."token_hash" in (?)`;

const INGEST_BATCH = `select "r_index", "r_outcome", "r_signal_ids", "r_used" from "signals_ingest_batch"($1::jsonb, $2, $3)`;

interface IngestRow {
  r_index: number;
  r_outcome: StoreOutcome['outcome'];
  r_signal_ids: string[] | null;
  r_used: number | null;
}

export interface IngestStoreOptions {
  /** How long a delivery's key answers its retries with the first delivery's signals. */
  dedupWindowSeconds: number;
  /** Deliveries per transaction at most. Default 64. */
  maxBatchSize?: number;
  /** Transactions (and endpoint lookups) running at once. Default 4. */
  maxInFlight?: number;
  /** Endpoints kept in memory at most (the least recently looked up go first). Default 10,000. */
  endpointCacheSize?: number;
  /** Endpoint lookups by result: `memory`, `database`, and `stale` (deliveries judged on an endpoint that changed since). */
  lookups?: Counter<'result'>;
}

/**
 * The webhook's database side. Concurrent requests share statements: endpoint lookups go out
 * together, and accepted deliveries are written together in one transaction (group commit), so a
 * burst of alerts costs a few round trips and WAL flushes instead of one each.
 *
 * Active endpoints stay in memory once looked up, so the next alert on them costs one round trip
 * (the write) instead of two. The write checks the endpoint's state and answers STALE, writing
 * nothing, if it changed (revoked, rotated, edited, deleted, another plan or TradingView session),
 * on this replica or another; revoked and unknown tokens are always looked up, so both answer
 * after the same work.
 */
export class IngestStore {
  private readonly endpoints: DataLoader<Buffer, EndpointRow | null, Buffer>;

  private readonly deliveries: DataLoader<Delivery, StoreOutcome, Delivery>;

  /** Active endpoints by token hash (hex), least recently looked up first. */
  private readonly remembered = new Map<string, EndpointRow>();

  private readonly cacheSize: number;

  constructor(
    private readonly orm: MikroORM,
    private readonly options: IngestStoreOptions,
  ) {
    const batching = { maxBatchSize: options.maxBatchSize ?? 64, maxInFlight: options.maxInFlight ?? 4 };
    this.endpoints = createBatcher((hashes) => this.lookup(hashes), batching);
    this.deliveries = createBatcher((deliveries) => this.write(deliveries), batching);
    this.cacheSize = options.endpointCacheSize ?? 10_000;
  }

  /** The endpoint whose token hashes to `tokenHash`, with its owner's plan and TradingView session (from memory when it served before). */
  async endpoint(tokenHash: Buffer): Promise<EndpointLookup> {
    const key = tokenHash.toString('hex');
    const row = this.remembered.get(key);
    if (!row) return { row: await this.freshEndpoint(tokenHash), fromMemory: false };
    this.remembered.delete(key);
    this.remembered.set(key, row);
    this.options.lookups?.inc({ result: 'memory' });
    return { row, fromMemory: true };
  }

  /** The endpoint as the database has it now; it replaces what memory held. */
  async freshEndpoint(tokenHash: Buffer): Promise<EndpointRow | null> {
    const key = tokenHash.toString('hex');
    this.remembered.delete(key);
    const row = await this.endpoints.load(tokenHash);
    this.options.lookups?.inc({ result: 'database' });
    if (row && !row.revoked) {
      this.remembered.set(key, row);
      if (this.remembered.size > this.cacheSize) this.remembered.delete(this.remembered.keys().next().value!);
    }
    return row;
  }

  /** Stores a delivery unless it is a retry or over quota; commits before it answers. */
  store(delivery: Delivery): Promise<StoreOutcome> {
    return this.deliveries.load(delivery);
  }

  private async lookup(hashes: readonly Buffer[]): Promise<(EndpointRow | null)[]> {
    const rows = await this.orm.em.getConnection().execute<EndpointRow[]>(ENDPOINTS_BY_TOKEN, [[...hashes]]);
    const byHash = new Map(rows.map((row) => [row.token_hash.toString('hex'), row]));
    return hashes.map((hash) => byHash.get(hash.toString('hex')) ?? null);
  }

  /**
   * One transaction for the batch. Deliveries with the same key (a retry racing its original) are
   * written once: the others answer as its retries. If the batch fails, each delivery is tried on
   * its own, so a bad one fails alone.
   */
  private async write(deliveries: readonly Delivery[]): Promise<(StoreOutcome | Error)[]> {
    const firstByKey = new Map<string, number>();
    const leaders: Delivery[] = [];
    const leaderOf = deliveries.map((delivery) => {
      const key = delivery.key.toString('hex');
      let leader = firstByKey.get(key);
      if (leader === undefined) {
        leader = leaders.push(delivery) - 1;
        firstByKey.set(key, leader);
      }
      return leader;
    });
    let outcomes: (StoreOutcome | Error)[];
    try {
      outcomes = await this.transaction(leaders);
    } catch (error) {
      if (leaders.length === 1) throw error;
      outcomes = await Promise.all(leaders.map((leader) => this.transaction([leader]).then(([outcome]) => outcome!, (failure: unknown) => toError(failure))));
    }
    const answered = new Set<number>();
    return leaderOf.map((leader) => {
      const outcome = outcomes[leader]!;
      if (answered.has(leader) && !(outcome instanceof Error) && outcome.outcome === 'CREATED') return { outcome: 'DUPLICATE', signalIds: outcome.signalIds };
      answered.add(leader);
      return outcome;
    });
  }

  private async transaction(deliveries: readonly Delivery[]): Promise<StoreOutcome[]> {
    const payload = deliveries.map((delivery) => ({ ...delivery, key: delivery.key.toString('hex') }));
    const rows = await sqlQuery<IngestRow>(this.orm.em, INGEST_BATCH, [JSON.stringify(payload), this.options.dedupWindowSeconds, SIGNALS_EVENT_SOURCE]);
    const outcomes: StoreOutcome[] = [];
    for (const row of rows) {
      outcomes[row.r_index - 1] = outcomeOf(row);
      if (row.r_outcome === 'STALE') this.options.lookups?.inc({ result: 'stale' });
    }
    if (outcomes.length !== deliveries.length || outcomes.includes(undefined as never)) throw new Error('signals_ingest_batch did not answer every delivery');
    return outcomes;
  }
}

function outcomeOf(row: IngestRow): StoreOutcome {
  if (row.r_outcome === 'STALE') return { outcome: 'STALE' };
  if (row.r_outcome === 'QUOTA_EXCEEDED') return { outcome: 'QUOTA_EXCEEDED', used: row.r_used ?? 0 };
  if (row.r_outcome === 'DUPLICATE') return { outcome: 'DUPLICATE', signalIds: row.r_signal_ids ?? [] };
  return { outcome: 'CREATED', signalIds: row.r_signal_ids ?? [], used: row.r_used ?? 0 };
}

const toError = (failure: unknown): Error => (failure instanceof Error ? failure : new Error(String(failure)));
