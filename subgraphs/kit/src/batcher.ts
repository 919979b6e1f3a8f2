import DataLoader from 'dataloader';

export interface BatcherOptions {
  /** Items per batch at most. */
  maxBatchSize: number;
  /** Batches running at once; items that arrive meanwhile wait and go out together. */
  maxInFlight: number;
  /**
   * How long a batch gathers items before it leaves. Default 0: once the event loop has read what
   * arrived together. Longer windows suit work nobody waits on (bigger batches, fewer round trips).
   */
  windowMs?: number;
}

/**
 * A process-wide DataLoader without a cache, for writes and lookups shared by concurrent requests
 * (group commit). A batch leaves once the event loop has read what arrived together, at once when
 * a slot is free; while `maxInFlight` batches run, new items gather into the next one. Light load
 * pays no wait, heavy load gets bigger batches. `run` answers one result (or Error) per item, in order.
 */
export function createBatcher<K, V>(run: (items: readonly K[]) => Promise<ArrayLike<V | Error>>, options: BatcherOptions): DataLoader<K, V, K> {
  const windowMs = options.windowMs ?? 0;
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    inFlight -= 1;
    waiting.shift()?.();
  };
  return new DataLoader<K, V, K>(
    async (items) => {
      inFlight += 1;
      try {
        return await run(items);
      } finally {
        release();
      }
    },
    {
      cache: false,
      maxBatchSize: options.maxBatchSize,
      batchScheduleFn: (dispatch) => {
        const leave = (): void => {
          if (inFlight < options.maxInFlight) dispatch();
          else waiting.push(dispatch);
        };
        // setImmediate: after every socket the loop found readable this turn has been read.
        if (windowMs > 0) setTimeout(leave, windowMs);
        else setImmediate(leave);
      },
    },
  );
}
