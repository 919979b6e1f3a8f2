import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { WebhookRateLimit } from '../config';

/** INCR the window's counter, starting its expiry on the first hit; answers the count and the time left. */
const FIXED_WINDOW = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return { count, ttl }`;

export interface RateDecision {
  allowed: boolean;
  /** Whole seconds until the window resets (the Retry-After of a refusal). */
  retryAfterSeconds: number;
}

/**
 * Requests per webhook token in fixed windows, counted in Redis so every replica shares the count
 * (one round trip per request). A window lets at most twice the limit through across its boundary;
 * that is fine for a flood guard. While Redis cannot be reached the limiter lets requests through
 * (and logs it): losing alerts is worse than a moment without the guard; monthly quotas still hold.
 */
export class WebhookRateLimiter {
  private readonly windowMs: number;

  private readonly client: Redis & { webhookRateHit(key: string, windowMs: number): Promise<[number, number]> };

  constructor(
    redis: Redis,
    private readonly settings: WebhookRateLimit,
    private readonly log: Logger,
    private readonly keyPrefix = 'mercado:signals:rate:',
  ) {
    this.windowMs = settings.windowSeconds * 1000;
    // A defined command runs by EVALSHA: the script is not sent with every request.
    redis.defineCommand('webhookRateHit', { numberOfKeys: 1, lua: FIXED_WINDOW });
    this.client = redis as typeof this.client;
  }

  async hit(endpointId: string): Promise<RateDecision> {
    try {
      const [count, ttl] = await this.client.webhookRateHit(`${this.keyPrefix}${endpointId}`, this.windowMs);
      return { allowed: count <= this.settings.limit, retryAfterSeconds: Math.max(1, Math.ceil(ttl / 1000)) };
    } catch (error) {
      this.log.warn({ err: error, endpointId }, 'webhook rate limit unavailable; request let through');
      return { allowed: true, retryAfterSeconds: 0 };
    }
  }
}
