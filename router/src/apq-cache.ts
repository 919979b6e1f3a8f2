import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Apollo Server's KeyValueCache for automatic persisted queries, in Redis so every router replica
 * knows a query one of them registered. A Redis outage is a cache miss (the client sends the
 * query again), never a failed request.
 */
export class RedisApqCache {
  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
    private readonly keyPrefix = 'mercado:router:apq:',
  ) {}

  async get(key: string): Promise<string | undefined> {
    try {
      return (await this.redis.get(this.keyPrefix + key)) ?? undefined;
    } catch (error) {
      this.log.debug({ err: error }, 'APQ cache read failed');
      return undefined;
    }
  }

  async set(key: string, value: string, options?: { ttl?: number | null }): Promise<void> {
    try {
      if (options?.ttl) await this.redis.set(this.keyPrefix + key, value, 'EX', options.ttl);
      else await this.redis.set(this.keyPrefix + key, value);
    } catch (error) {
      this.log.debug({ err: error }, 'APQ cache write failed');
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      return (await this.redis.del(this.keyPrefix + key)) > 0;
    } catch {
      return false;
    }
  }
}
