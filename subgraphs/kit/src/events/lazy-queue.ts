import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createErrorReporter, createRedisClient, type RedisTarget } from './redis';

/**
 * The producer side of a subgraph's own BullMQ queue (delayed jobs, schedules, mail). It connects
 * on first use, so a process that never adds a job never connects, and its commands fail fast (one
 * retry, 5 s) while Redis is away instead of queueing up behind a reconnect.
 */
export class LazyQueue<Data = unknown, Result = unknown> {
  private client: Redis | undefined;
  private queue: Queue<Data, Result> | undefined;

  constructor(
    private readonly name: string,
    private readonly options: { redis: RedisTarget; prefix?: string; log: Logger },
  ) {}

  get(): Queue<Data, Result> {
    if (!this.queue) {
      const { log } = this.options;
      const client = createRedisClient(this.options.redis, { maxRetriesPerRequest: 1, commandTimeout: 5000 });
      const errors = createErrorReporter(log, {}, 'redis connection error');
      client.on('error', (error) => errors.error(error));
      client.on('ready', () => errors.recovered());
      this.client = client;
      this.queue = new Queue<Data, Result>(this.name, { connection: client, prefix: this.options.prefix });
      // The client reports connection errors already.
      this.queue.on('error', (error) => log.debug({ err: error }, 'queue error'));
    }
    return this.queue;
  }

  async close(): Promise<void> {
    const { queue, client } = this;
    this.queue = undefined;
    this.client = undefined;
    await queue?.close().catch((error: unknown) => this.options.log.debug({ err: error }, 'queue close failed'));
    if (client) await client.quit().catch(() => client.disconnect());
  }
}
