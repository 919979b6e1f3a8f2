import { Redis, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'bullmq';
import type { Logger } from 'pino';

/** Where Redis is: a `redis://` URL or ioredis options. */
export type RedisTarget = string | RedisOptions;

/**
 * Connection options for a BullMQ class that creates (and owns) its own ioredis clients.
 * BullMQ accepts `url` next to the ioredis options.
 */
export function bullConnection(redis: RedisTarget, extra: RedisOptions = {}): ConnectionOptions {
  // ioredis' option types are a superset of what bullmq declares (e.g. retryStrategy's return type).
  const options = typeof redis === 'string' ? { url: redis, ...extra } : { ...redis, ...extra };
  return options as ConnectionOptions;
}

/** A new ioredis client owned by the caller (close it with `quit()`/`disconnect()`). */
export function createRedisClient(redis: RedisTarget, extra: RedisOptions = {}): Redis {
  return typeof redis === 'string' ? new Redis(redis, extra) : new Redis({ ...redis, ...extra });
}

/**
 * Logs connection errors without flooding: while Redis is down ioredis reports the same error on
 * every reconnect attempt, so each distinct message is logged at warn at most once per
 * `intervalMs` (with the number of repeats), and at debug otherwise.
 */
export function createErrorReporter(log: Logger, context: Record<string, unknown>, message: string, intervalMs = 60_000) {
  const seen = new Map<string, { loggedAt: number; repeats: number }>();
  return {
    error(error: unknown): void {
      const text = error instanceof Error ? error.message : String(error);
      const now = Date.now();
      const entry = seen.get(text);
      if (!entry || now - entry.loggedAt >= intervalMs) {
        log.warn({ ...context, err: error, repeats: entry?.repeats ?? 0 }, message);
        seen.set(text, { loggedAt: now, repeats: 0 });
      } else {
        entry.repeats += 1;
        log.debug({ ...context, err: error }, message);
      }
    },
    /** The connection is back: the next error is logged at warn again. */
    recovered(): void {
      if (seen.size > 0) log.info(context, 'redis connection recovered');
      seen.clear();
    },
  };
}
