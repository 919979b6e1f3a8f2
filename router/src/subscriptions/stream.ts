/** How a client's backlog of undelivered results is bounded. */
export type BufferPolicy =
  /** Keep only the latest result: a slow client skips intermediate ones (prices, any "latest value wins" feed). */
  | { kind: 'conflate' }
  /** Keep every result in order, up to `limit`; past that `overflow()` decides what happens. */
  | { kind: 'queue'; limit: number };

export interface ClientStreamOptions<T> {
  policy: BufferPolicy;
  /** The client unsubscribed (or its socket closed): runs once, not when the producer ended the stream. */
  onReturn(): void;
  /** The queue is full: the last result to deliver before the stream ends. */
  overflow?(): T;
}

/**
 * The results of one client subscription as graphql-ws consumes them (an async iterator with
 * `return`). Written by hand rather than as an async generator: a generator waiting for its next
 * value cannot be returned until that value arrives, so an unsubscribe would hang until the next
 * event. graphql-ws pulls the next result only once the previous one was written to the socket, so
 * the buffer here is exactly the client's backlog, bounded by the policy.
 */
export class ClientStream<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  /** The producer is done: deliver what is buffered, then finish. */
  private ended = false;
  /** The consumer is gone. */
  private returned = false;
  /** Results replaced by a newer one before delivery (conflation). */
  skipped = 0;

  constructor(private readonly options: ClientStreamOptions<T>) {}

  get done(): boolean {
    return this.ended || this.returned;
  }

  push(value: T): void {
    if (this.done) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value, done: false });
      return;
    }
    const { policy } = this.options;
    if (policy.kind === 'conflate') {
      if (this.buffer.length > 0) this.skipped += 1;
      this.buffer.length = 0;
      this.buffer.push(value);
    } else if (this.buffer.length < policy.limit) {
      this.buffer.push(value);
    } else {
      // Too far behind: drop the backlog, say why, finish.
      this.buffer.length = 0;
      if (this.options.overflow) this.buffer.push(this.options.overflow());
      this.end();
    }
  }

  /** No more results: the client gets what is buffered (unless `discard`), then completion. */
  end(discard = false): void {
    if (discard) this.buffer.length = 0;
    if (this.done) return;
    this.ended = true;
    if (this.waiting && this.buffer.length === 0) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.returned) {
      const wasEnded = this.ended;
      this.returned = true;
      this.buffer.length = 0;
      if (this.waiting) {
        const resolve = this.waiting;
        this.waiting = undefined;
        resolve({ value: undefined, done: true });
      }
      if (!wasEnded) this.options.onReturn();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(): Promise<IteratorResult<T>> {
    return this.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
