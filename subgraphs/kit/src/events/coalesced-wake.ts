/**
 * `wake` called `delayMs` after the first request since the last call: a burst of requests (commits
 * at hundreds a second) wakes once, so the outbox relay drains them in one batch instead of one each.
 * `cancel` drops a pending call (on shutdown).
 */
export function coalescedWake(wake: () => void, delayMs: number): { request(): void; cancel(): void } {
  let timer: NodeJS.Timeout | null = null;
  return {
    request() {
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        wake();
      }, delayMs);
      timer.unref();
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
