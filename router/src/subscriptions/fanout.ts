import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Logger } from 'pino';
import { AppError } from '../../../subgraphs/kit/src/errors';
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
}

/**
 * The clients of one operation (equal HubRequest keys) on one feed. Events are executed one at a
 * time, in order, once for all members; while one executes, the next wait (for a conflated
 * operation only the latest waits). A feed's end reaches members after the events before it.
 */
class OperationGroup implements FeedListener {
  readonly members = new Set<ClientStream<ExecutionResult>>();
  private pending: UpstreamEvent[] = [];
  private terminal: { errors?: readonly GraphQLError[] } | undefined;
  private pumping = false;
  private closed = false;
  private release: (() => void) | undefined;

  constructor(
    private readonly request: HubRequest,
    private readonly queueLimit: number,
    private readonly onClosed: () => void,
  ) {}

  attach(release: () => void): void {
    if (this.closed) release();
    else this.release = release;
  }

  join(): ClientStream<ExecutionResult> {
    const stream: ClientStream<ExecutionResult> = new ClientStream<ExecutionResult>({
      policy: this.request.conflate ? { kind: 'conflate' } : { kind: 'queue', limit: this.queueLimit },
      onReturn: () => this.leave(stream),
      overflow: () => ({
        errors: [new AppError('QUOTA_EXCEEDED', `Subscription ended: the client fell more than ${this.queueLimit} events behind`)],
      }),
    });
    this.members.add(stream);
    return stream;
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

  /** Completes every member now, undelivered results dropped (router shutdown). */
  shutdown(): void {
    for (const member of this.members) member.end(true);
    this.members.clear();
    this.close();
  }

  private leave(stream: ClientStream<ExecutionResult>): void {
    this.members.delete(stream);
    if (this.members.size === 0) this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
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
          for (const member of [...this.members]) {
            member.push(result);
            // A member that overflowed has ended itself.
            if (member.done) this.members.delete(member);
          }
          if (this.members.size === 0) this.close();
          continue;
        }
        if (this.terminal) {
          const { errors } = this.terminal;
          for (const member of this.members) {
            if (errors && errors.length > 0) member.push({ errors: [...errors] });
            member.end();
          }
          this.members.clear();
          this.close();
        }
        return;
      }
    } finally {
      this.pumping = false;
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
}

/** Client subscriptions → operation groups → upstream feeds. */
export class SubscriptionHub {
  private readonly groups = new Map<string, OperationGroup>();

  constructor(private readonly options: SubscriptionHubOptions) {}

  /** The client's results: iterate them; `return()` unsubscribes. */
  subscribe(request: HubRequest): ClientStream<ExecutionResult> {
    let group = this.groups.get(request.key);
    if (!group) {
      const created: OperationGroup = new OperationGroup(request, this.options.queueLimit ?? 1_000, () => {
        if (this.groups.get(request.key) === created) this.groups.delete(request.key);
      });
      this.groups.set(request.key, created);
      created.attach(this.options.pool.acquire(request.feed, created));
      group = created;
    }
    return group.join();
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
