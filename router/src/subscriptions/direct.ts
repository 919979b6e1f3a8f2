import type { ExecutionResult } from 'graphql';

/** What the hub needs of a client's WebSocket (a `ws` WebSocket). */
export interface ClientSocket {
  readonly readyState: number;
  /** Bytes accepted by `send` but not yet handed to the kernel. */
  readonly bufferedAmount: number;
  send(data: string): void;
}

/** WebSocket.OPEN */
const OPEN = 1;

/** Where a client's results go when the router writes them itself instead of graphql-ws. */
export interface DirectDelivery {
  socket: ClientSocket;
  /** The graphql-ws operation id, as the client chose it. */
  id: string;
  /** A result → the JSON of a `next` message's payload, as graphql-ws would send it (errors formatted). */
  serialize(result: ExecutionResult): string;
}

/** A group's newest result, numbered from 1; its JSON is built once for every client. */
export interface Latest {
  version: number;
  result: ExecutionResult;
  json?: string;
}

/** A client of an operation group, as the group delivers to it. */
export interface Member {
  /** The version of the newest result this client was given (0: none). */
  version: number;
  readonly done: boolean;
  /**
   * Hands `latest` over. False: the client's socket is backed up and got nothing; offer again once
   * it drains. `force` sends even so (the last message before the end).
   */
  offer(latest: Latest, force?: boolean): boolean;
  /** No more results: the client's subscription completes (`discard`: without what it was still owed). */
  end(discard?: boolean): void;
}

/** What a DirectStream asks of its group. */
export interface DirectSource {
  /** The group's newest result, if any. */
  latest(): Latest | undefined;
  /** The JSON of `latest`'s payload (built once). */
  payload(latest: Latest): string;
  /** Unsent bytes above which a socket is skipped. */
  readonly maxBufferedBytes: number;
  /** The client unsubscribed or its socket closed. */
  leave(member: DirectStream): void;
}

/**
 * A client of a shared (conflated) operation whose results the router writes to its socket itself:
 * the group serializes each result once and every client's `next` message is that JSON with its
 * own operation id spliced in, instead of graphql-ws formatting, validating and stringifying the
 * result again per client and awaiting each write.
 *
 * To graphql-ws this is the operation's async iterator: it yields nothing and finishes when the
 * subscription does, so graphql-ws still sends `complete` (after the last `next` written here),
 * calls `return()` when the client unsubscribes or disconnects, and runs its hooks. Results are
 * written only once graphql-ws iterates (the operation is registered on the connection by then);
 * the newest one waiting is written at that moment.
 */
export class DirectStream implements Member, AsyncIterableIterator<ExecutionResult> {
  version = 0;
  /** graphql-ws is iterating: results may be written. */
  private live = false;
  private finished = false;
  private waiting: ((result: IteratorResult<ExecutionResult>) => void) | undefined;
  /** `{"id":<id>,"type":"next","payload":` */
  private readonly prefix: string;

  constructor(
    private readonly delivery: DirectDelivery,
    private readonly source: DirectSource,
  ) {
    this.prefix = `{"id":${JSON.stringify(delivery.id)},"type":"next","payload":`;
  }

  get done(): boolean {
    return this.finished;
  }

  offer(latest: Latest, force = false): boolean {
    if (this.finished || (!this.live && !force)) return true;
    const { socket } = this.delivery;
    if (socket.readyState !== OPEN) {
      // Closing: graphql-ws returns this stream once the socket is closed.
      this.version = latest.version;
      return true;
    }
    if (!force && socket.bufferedAmount > this.source.maxBufferedBytes) return false;
    this.version = latest.version;
    socket.send(this.prefix + this.source.payload(latest) + '}');
    return true;
  }

  end(): void {
    if (this.finished) return;
    this.finished = true;
    this.resolveDone();
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    if (!this.live) {
      this.live = true;
      const latest = this.source.latest();
      if (latest && latest.version > this.version) this.offer(latest, true);
    }
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    if (!this.finished) {
      this.finished = true;
      this.resolveDone();
      this.source.leave(this);
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(): Promise<IteratorResult<ExecutionResult>> {
    return this.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private resolveDone(): void {
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve?.({ value: undefined, done: true });
  }
}
