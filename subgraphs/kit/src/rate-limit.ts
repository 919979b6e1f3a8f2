import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createErrorReporter } from './events/redis';

/** INCR the window's counter, starting its expiry on the first hit; answers the count and the time left. */
const FIXED_WINDOW = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
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

/**
 * Requests per caller in fixed windows, counted in Redis so every replica shares the count (one
 * round trip per request). A window lets at most twice the limit through across its boundary;
 * that is fine for a flood guard. While Redis cannot be reached the limiter lets requests through
 * (and logs it): refusing every caller because Redis is away would be worse than a moment without the guard.
 */
export class FixedWindowRateLimiter {
  private readonly windowMs: number;

  private readonly client: Redis & { fixedWindowHit(key: string, windowMs: number): Promise<[number, number]> };

  /** While Redis is away every request fails to count: one warning a minute, not one per request. */
  private readonly errors: ReturnType<typeof createErrorReporter>;

  constructor(
    redis: Redis,
    private readonly settings: RateLimit,
    log: Logger,
    private readonly keyPrefix: string,
  ) {
    this.errors = createErrorReporter(log, {}, 'rate limit unavailable; requests let through');
    this.windowMs = settings.windowSeconds * 1000;
    // A defined command runs by EVALSHA: the script is not sent with every request.
    redis.defineCommand('fixedWindowHit', { numberOfKeys: 1, lua: FIXED_WINDOW });
    this.client = redis as typeof this.client;
  }

  async hit(callerKey: string): Promise<RateDecision> {
    try {
      const [count, ttl] = await this.client.fixedWindowHit(`${this.keyPrefix}${callerKey}`, this.windowMs);
      this.errors.recovered();
      return { allowed: count <= this.settings.limit, retryAfterSeconds: Math.max(1, Math.ceil(ttl / 1000)) };
    } catch (error) {
      this.errors.error(error);
      return { allowed: true, retryAfterSeconds: 0 };
    }
  }
}
