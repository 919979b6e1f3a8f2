import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Logger } from 'pino';
import { AppError } from '../../../subgraphs/kit/src/errors';
import { DirectStream, type DirectDelivery, type DirectSource, type Latest, type Member } from './direct';
import type { UpstreamEvent } from './execute';
import { ClientStream } from './stream';
import type { FeedListener, FeedSpec, UpstreamPool } from './upstream';

/** One client subscription as the hub receives it. */
export interface HubRequest {
  /**
   * Clients with equal keys get the same results: same feed, document, variables and forwarded
   * Authorization, planned against the same supergraph. They share one execution per event.
   */
  key: string;
  feed: FeedSpec;
  /** Latest value wins: each client keeps at most one undelivered result. Otherwise every event, in order. */
  conflate: boolean;
  /** Turns an upstream event into the client's result (runs the rest of the plan). */
  execute(event: UpstreamEvent): Promise<ExecutionResult>;
  log: Logger;
  /**
   * Conflated operations only: the hub writes the client's results to its socket itself (see
   * DirectStream) and the returned iterator yields none.
   */
  direct?: DirectDelivery;
}

/** A client's results as graphql-ws consumes them; `return()` unsubscribes. */
export interface ClientResults extends AsyncIterableIterator<ExecutionResult> {
  return(): Promise<IteratorResult<ExecutionResult>>;
}

/** A ClientStream in a group: the group hands it results, graphql-ws pulls them. */
class StreamMember implements Member {
  version = 0;

  constructor(readonly stream: ClientStream<ExecutionResult>) {}

  get done(): boolean {
    return this.stream.done;
  }

  offer(latest: Latest): boolean {
    this.version = latest.version;
    this.stream.push(latest.result);
    return true;
  }

  end(discard?: boolean): void {
    this.stream.end(discard);
  }
}

interface GroupOptions {
  queueLimit: number;
  sliceSize: number;
  maxBufferedBytes: number;
  drainCheckMs: number;
}

/**
 * The clients of one operation (equal HubRequest keys) on one feed. Events are executed one at a
 * time, in order, once for all members; while one executes, the next wait (for a conflated
 * operation only the latest waits). A feed's end reaches members after the events before it.
 *
 * Delivery: a non-conflated operation hands every result to every member at once. A conflated one
 * keeps the newest result and delivers it in slices of `sliceSize` members per event-loop turn (so
 * thousands of sockets do not hold up pings, new connections and other feeds); a result that
 * arrives meanwhile replaces it for the members not served yet, and the ones served before get it
 * next. A member whose socket is backed up is skipped and given the newest result once it drains.
 */
class OperationGroup implements FeedListener, DirectSource {
  readonly members = new Set<Member>();
  private pending: UpstreamEvent[] = [];
  private terminal: { errors?: readonly GraphQLError[] } | undefined;
  private pumping = false;
  private closed = false;
  private release: (() => void) | undefined;
  private newest: Latest | undefined;
  private serialize: ((result: ExecutionResult) => string) | undefined;
  /** The delivery round in progress (conflated), and the version it started with. */
  private cursor: Iterator<Member> | undefined;
  private roundVersion = 0;
  /** Members skipped because their socket was backed up. */
  private readonly lagging = new Set<Member>();
  private lagTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly request: HubRequest,
    private readonly options: GroupOptions,
    private readonly onClosed: () => void,
  ) {}

  get maxBufferedBytes(): number {
    return this.options.maxBufferedBytes;
  }

  attach(release: () => void): void {
    if (this.closed) release();
    else this.release = release;
  }

  join(request: HubRequest): ClientResults {
    let member: Member;
    let iterator: ClientResults;
    if (this.request.conflate && request.direct) {
      this.serialize ??= request.direct.serialize;
      iterator = member = new DirectStream(request.direct, this);
    } else {
      const stream: ClientStream<ExecutionResult> = new ClientStream<ExecutionResult>({
        policy: this.request.conflate ? { kind: 'conflate' } : { kind: 'queue', limit: this.options.queueLimit },
        onReturn: () => this.leave(wrapped),
        overflow: () => ({
          errors: [new AppError('QUOTA_EXCEEDED', `Subscription ended: the client fell more than ${this.options.queueLimit} events behind`)],
        }),
      });
      const wrapped = new StreamMember(stream);
      member = wrapped;
      iterator = stream;
    }
    // Results from now on: an earlier one is not replayed.
    member.version = this.newest?.version ?? 0;
    this.members.add(member);
    return iterator;
  }

  next(event: UpstreamEvent): void {
    if (this.closed || this.terminal) return;
    if (this.request.conflate) this.pending = [event];
    else this.pending.push(event);
    void this.pump();
  }

  end(errors?: readonly GraphQLError[]): void {
    if (this.closed || this.terminal) return;
    this.terminal = { errors };
    void this.pump();
  }

  latest(): Latest | undefined {
    return this.newest;
  }

  payload(latest: Latest): string {
    return (latest.json ??= this.serializeOnce(latest.result));
  }

  leave(member: Member): void {
    this.members.delete(member);
    this.lagging.delete(member);
    if (this.members.size === 0) this.close();
  }

  /** Completes every member now, undelivered results dropped (router shutdown). */
  shutdown(): void {
    for (const member of this.members) member.end(true);
    this.members.clear();
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.cursor = undefined;
    this.lagging.clear();
    if (this.lagTimer) clearTimeout(this.lagTimer);
    this.lagTimer = undefined;
    this.onClosed();
    const release = this.release;
    this.release = undefined;
    release?.();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closed) {
        const event = this.pending.shift();
        if (event) {
          const result = await this.run(event);
          if (!this.closed) this.publish(result);
          continue;
        }
        if (this.terminal) this.finish();
        return;
      }
    } finally {
      this.pumping = false;
    }
  }

  private publish(result: ExecutionResult): void {
    const latest: Latest = { version: (this.newest?.version ?? 0) + 1, result };
    this.newest = latest;
    if (!this.request.conflate) {
      for (const member of this.members) {
        member.offer(latest);
        // A member that overflowed has ended itself.
        if (member.done) this.members.delete(member);
      }
      if (this.members.size === 0) this.close();
      return;
    }
    // Built once here rather than by the first member served.
    if (this.serialize) this.payload(latest);
    if (!this.cursor) this.startRound();
  }

  private startRound(): void {
    this.roundVersion = this.newest!.version;
    this.cursor = this.members.values();
    this.deliverSlice();
  }

  /** Serves up to `sliceSize` members the newest result; the rest after a setImmediate. */
  private readonly deliverSlice = (): void => {
    const cursor = this.cursor;
    if (this.closed || !cursor) return;
    const latest = this.newest!;
    let budget = this.options.sliceSize;
    for (let step = cursor.next(); !step.done; step = cursor.next()) {
      const member = step.value;
      if (member.version >= latest.version) continue;
      if (!member.offer(latest)) this.lag(member);
      if (--budget === 0) {
        setImmediate(this.deliverSlice);
        return;
      }
    }
    this.cursor = undefined;
    // A newer result arrived during the round: the members served before it get it too.
    if (this.newest!.version !== this.roundVersion) this.startRound();
  };

  private lag(member: Member): void {
    this.lagging.add(member);
    this.lagTimer ??= setTimeout(this.retryLagging, this.options.drainCheckMs);
  }

  private readonly retryLagging = (): void => {
    this.lagTimer = undefined;
    const latest = this.newest;
    if (this.closed || !latest) return;
    for (const member of this.lagging) {
      if (member.done || member.version >= latest.version || member.offer(latest)) this.lagging.delete(member);
    }
    if (this.lagging.size > 0) this.lagTimer = setTimeout(this.retryLagging, this.options.drainCheckMs);
  };

  /** The feed ended: members get what they are owed (the newest result, or the feed's errors), then complete. */
  private finish(): void {
    const errors = this.terminal?.errors;
    const final: Latest | undefined = errors && errors.length > 0 ? { version: (this.newest?.version ?? 0) + 1, result: { errors: [...errors] } } : this.newest;
    for (const member of this.members) {
      if (final && member.version < final.version) member.offer(final, true);
      member.end();
    }
    this.members.clear();
    this.close();
  }

  private serializeOnce(result: ExecutionResult): string {
    try {
      return this.serialize!(result);
    } catch (error) {
      this.request.log.error({ err: error }, 'serializing a subscription result failed');
      return JSON.stringify({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    }
  }

  private async run(event: UpstreamEvent): Promise<ExecutionResult> {
    try {
      return await this.request.execute(event);
    } catch (error) {
      this.request.log.error({ err: error }, 'executing a subscription event failed');
      return { data: null, errors: [new GraphQLError('Internal server error', { originalError: error as Error })] };
    }
  }
}

export interface SubscriptionHubOptions {
  pool: UpstreamPool;
  /** Results a non-conflated client may fall behind before it is dropped with QUOTA_EXCEEDED. */
  queueLimit?: number;
  /** Conflated operations: members served per event-loop turn (default 500). */
  sliceSize?: number;
  /** A socket with more unsent bytes than this is skipped, and given the newest result once below (default 16 KiB). */
  maxBufferedBytes?: number;
  /** How often skipped sockets are checked again, in ms (default 25). */
  drainCheckMs?: number;
}

/** Client subscriptions → operation groups → upstream feeds. */
export class SubscriptionHub {
  private readonly groups = new Map<string, OperationGroup>();
  private readonly groupOptions: GroupOptions;

  constructor(private readonly options: SubscriptionHubOptions) {
    this.groupOptions = {
      queueLimit: options.queueLimit ?? 1_000,
      sliceSize: options.sliceSize ?? 500,
      maxBufferedBytes: options.maxBufferedBytes ?? 16 * 1024,
      drainCheckMs: options.drainCheckMs ?? 25,
    };
  }

  /** The client's results: iterate them; `return()` unsubscribes. */
  subscribe(request: HubRequest): ClientResults {
    let group = this.groups.get(request.key);
    if (!group) {
      const created: OperationGroup = new OperationGroup(request, this.groupOptions, () => {
        if (this.groups.get(request.key) === created) this.groups.delete(request.key);
      });
      this.groups.set(request.key, created);
      created.attach(this.options.pool.acquire(request.feed, created));
      group = created;
    }
    return group.join(request);
  }

  /** Client subscriptions being served. */
  clients(): number {
    let count = 0;
    for (const group of this.groups.values()) count += group.members.size;
    return count;
  }

  /** Completes every client subscription now (they release their feeds). */
  shutdown(): void {
    for (const group of [...this.groups.values()]) group.shutdown();
  }
}
