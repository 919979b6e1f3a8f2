import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createErrorReporter } from './events/redis';

/** Adds ARGV[2] to the window's counter, starting its expiry on the first hit; answers the count and the time left. */
const FIXED_WINDOW = `
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return { count, ttl }`;

export interface RateLimit {
  /** Requests one caller may send per window (counted in Redis, shared by every replica). */
  limit: number;
  windowSeconds: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Whole seconds until the window resets (the Retry-After of a refusal). */
  retryAfterSeconds: number;
}

export interface RateLimiterOptions {
  /**
   * How long hits answered from memory wait before they are added to Redis in one pipeline. 0: every
   * hit is a round trip. Default 25.
   */
  syncIntervalMs?: number;
}

/** Limits below this many hits a window are counted in Redis hit by hit. */
export const MEMORY_MIN_LIMIT = 100;

/** What this replica knows of one caller's window. */
interface Window {
  /** The count Redis answered last (every replica's hits up to then). */
  counted: number;
  /** Hits let through from memory, not yet added in Redis. */
  pending: number;
  /** When the window ends, by this process's clock. */
  endsAt: number;
}

/**
 * Requests per caller in fixed windows, counted in Redis so every replica shares the count. A window
 * lets at most twice the limit through across its boundary; that is fine for a flood guard.
 *
 * A caller's first hit in a window is a round trip. After that, while Redis's last count plus this
 * replica's unsent hits stays within half the limit, hits are answered from memory and added in
 * Redis together every `syncIntervalMs` (one pipeline for all callers); past half, every hit is a
 * round trip again, so the refusal at the limit is exact unless the other replicas together send
 * more than half the limit in one interval. Limits under `MEMORY_MIN_LIMIT` are always counted hit
 * by hit: there one hit is a share worth being exact about, and callers that slow cost few round
 * trips. A busy router thus spends one Redis write per interval instead of one per request.
 *
 * While Redis cannot be reached the limiter lets requests through (and logs it): refusing every
 * caller because Redis is away would be worse than a moment without the guard.
 */
export class FixedWindowRateLimiter {
  private readonly windowMs: number;

  private readonly syncIntervalMs: number;

  private readonly client: Redis & { fixedWindowHit(key: string, windowMs: number, hits: number): Promise<[number, number]> };

  /** While Redis is away every request fails to count: one warning a minute, not one per request. */
  private readonly errors: ReturnType<typeof createErrorReporter>;

  private readonly windows = new Map<string, Window>();

  private syncTimer: NodeJS.Timeout | undefined;

  private sweptAt = Date.now();

  /** After `close()` every hit is a round trip: no timer is left to send it. */
  private closed = false;

  constructor(
    redis: Redis,
    private readonly settings: RateLimit,
    log: Logger,
    private readonly keyPrefix: string,
    options: RateLimiterOptions = {},
  ) {
    this.errors = createErrorReporter(log, {}, 'rate limit unavailable; requests let through');
    this.windowMs = settings.windowSeconds * 1000;
    this.syncIntervalMs = settings.limit < MEMORY_MIN_LIMIT ? 0 : (options.syncIntervalMs ?? 25);
    // A defined command runs by EVALSHA: the script is not sent with every request.
    redis.defineCommand('fixedWindowHit', { numberOfKeys: 1, lua: FIXED_WINDOW });
    this.client = redis as typeof this.client;
  }

  async hit(callerKey: string): Promise<RateDecision> {
    const now = Date.now();
    const window = this.windows.get(callerKey);
    const open = window !== undefined && now < window.endsAt;
    if (open && !this.closed && 2 * (window.counted + window.pending + 1) <= this.settings.limit) {
      window.pending += 1;
      this.syncTimer ??= setTimeout(() => void this.sync(), this.syncIntervalMs).unref();
      return { allowed: true, retryAfterSeconds: Math.max(1, Math.ceil((window.endsAt - now) / 1000)) };
    }
    // Hits from memory in a window that has ended belong to no window Redis still counts.
    const hits = open ? window.pending + 1 : 1;
    if (window) window.pending = 0;
    try {
      const [count, ttl] = await this.client.fixedWindowHit(`${this.keyPrefix}${callerKey}`, this.windowMs, hits);
      this.errors.recovered();
      this.remember(callerKey, count, now + ttl);
      return { allowed: count <= this.settings.limit, retryAfterSeconds: Math.max(1, Math.ceil(ttl / 1000)) };
    } catch (error) {
      this.errors.error(error);
      return { allowed: true, retryAfterSeconds: 0 };
    }
  }

  /** Adds the hits answered from memory in Redis now, one pipeline for every caller. */
  async sync(): Promise<void> {
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    const sentAt = Date.now();
    const batch: [string, number][] = [];
    for (const [callerKey, window] of this.windows) {
      if (window.pending === 0) continue;
      // Hits of a window that has ended are not added to the next one.
      if (sentAt < window.endsAt) batch.push([callerKey, window.pending]);
      window.pending = 0;
    }
    if (batch.length === 0) return;
    const pipeline = this.client.pipeline() as ReturnType<Redis['pipeline']> & { fixedWindowHit(key: string, windowMs: number, hits: number): unknown };
    for (const [callerKey, hits] of batch) pipeline.fixedWindowHit(`${this.keyPrefix}${callerKey}`, this.windowMs, hits);
    // A hit that fails to count is let through, as any hit while Redis is away.
    const results = await pipeline.exec().catch((error: unknown) => batch.map(() => [error, null] as const));
    batch.forEach(([callerKey], index) => {
      const [error, answer] = results?.[index] ?? [new Error('no answer from Redis'), null];
      if (error) return this.errors.error(error);
      const [count, ttl] = answer as [number, number];
      this.remember(callerKey, count, sentAt + ttl);
    });
  }

  /**
   * Adds the hits still answered from memory to Redis and stops syncing: a replica shutting down
   * would otherwise take up to one interval of counts with it. Call before closing the connection.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.sync();
  }

  /** Keeps Redis's count of a caller's window (`endsAt` from when the count was asked: never later than Redis's). */
  private remember(callerKey: string, count: number, endsAt: number): void {
    if (this.syncIntervalMs <= 0) return;
    const window = this.windows.get(callerKey);
    // Answers come in order on one connection; an answer about the window already known raises its count.
    if (window && endsAt <= window.endsAt + 1000) window.counted = Math.max(window.counted, count);
    else this.windows.set(callerKey, { counted: count, pending: 0, endsAt });
    const now = Date.now();
    if (now - this.sweptAt >= this.windowMs) {
      this.sweptAt = now;
      for (const [key, known] of this.windows) if (now >= known.endsAt && known.pending === 0) this.windows.delete(key);
    }
  }
}
