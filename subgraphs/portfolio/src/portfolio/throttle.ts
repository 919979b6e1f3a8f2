/** Time and timers, injectable so the throttle is tested without waiting. */
export interface Clock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Calls `fire` at most once per `intervalMs`: a signal after a quiet interval fires at once (leading
 * edge); signals within the interval are merged into one call when it ends (trailing edge), so the
 * last change is never lost. `fire` reads the latest state itself: a signal carries nothing.
 */
export class Throttle {
  private lastFired = Number.NEGATIVE_INFINITY;
  private timer: unknown = null;
  private pending = false;
  private closed = false;

  constructor(
    private readonly intervalMs: number,
    private readonly fire: () => void,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Something changed. */
  signal(): void {
    if (this.closed) return;
    this.pending = true;
    if (this.timer !== null) return;
    const wait = this.lastFired + this.intervalMs - this.clock.now();
    if (wait <= 0) this.run();
    else this.timer = this.clock.setTimeout(() => this.run(), wait);
  }

  /** Counts a call made elsewhere (e.g. the first snapshot) as the last one fired. */
  fired(): void {
    this.lastFired = this.clock.now();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private run(): void {
    this.timer = null;
    if (!this.pending || this.closed) return;
    this.pending = false;
    this.lastFired = this.clock.now();
    this.fire();
  }
}
