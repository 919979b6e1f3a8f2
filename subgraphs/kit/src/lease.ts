import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createRedisClient, type RedisTarget } from './events/redis';

/** Extends the lease only while this holder still owns it. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
/** Gives the lease up only if this holder owns it. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface LeaseOptions {
  redis: RedisTarget;
  /** The Redis key every contender of this lease uses. */
  key: string;
  /** How long a holder keeps the lease without renewing it: the longest two holders could overlap after a partition. */
  ttlMs: number;
  log: Logger;
  /** Called when this process becomes the holder. */
  onAcquired(): Promise<void> | void;
  /** Called when this process stops being the holder (lost the key, or could not renew within the TTL). */
  onLost(): Promise<void> | void;
}

export interface Lease {
  /** Whether this process holds the lease now. */
  readonly held: boolean;
  /** Resolves once the first attempt is decided (and onAcquired has run if it won). */
  settled(): Promise<void>;
  /** Stops contending; a holder calls onLost and gives the key up, so another process takes over at once. */
  stop(): Promise<void>;
}

/**
 * One holder among the replicas of a subgraph, for work that must run once (a market feed): the
 * holder owns a Redis key with a TTL and renews it every third of the TTL; the others try to take
 * it at the same pace. A holder that cannot renew stops, as if it had lost the key, a renewal
 * period before the key could expire and be taken by another process.
 */
export function startLease(options: LeaseOptions): Lease {
  const { key, ttlMs, log } = options;
  const token = randomUUID();
  // Commands wait for the connection (the first attempt runs at once), but never past a third of the TTL.
  const redis: Redis = createRedisClient(options.redis, { maxRetriesPerRequest: 1, commandTimeout: Math.max(200, Math.floor(ttlMs / 3)) });
  redis.on('error', (error) => log.debug({ err: error, key }, 'lease redis error'));
  let held = false;
  let heldUntil = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // Transitions run one at a time, so onAcquired and onLost never overlap.
  let transition: Promise<void> = Promise.resolve();

  const change = (next: boolean): Promise<void> => {
    transition = transition.then(async () => {
      // After stop, nothing starts again.
      if (held === next || (next && stopped)) return;
      held = next;
      log.info({ key }, next ? 'lease acquired' : 'lease lost');
      try {
        await (next ? options.onAcquired() : options.onLost());
      } catch (error) {
        log.error({ err: error, key }, next ? 'lease holder failed to start its work; giving the lease up' : 'lease holder failed to stop its work');
        if (next) {
          // Let another process (or this one, at the next attempt) try instead of holding a lease doing nothing.
          held = false;
          await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
        }
      }
    });
    return transition;
  };

  const attempt = async (): Promise<void> => {
    const now = Date.now();
    try {
      const owned = held
        ? Number(await redis.eval(RENEW, 1, key, token, String(ttlMs))) === 1
        : (await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK';
      if (owned) {
        heldUntil = now + ttlMs;
        await change(true);
      } else if (held) {
        await change(false);
      }
    } catch (error) {
      log.debug({ err: error, key }, 'lease not renewed');
      // Stop a renewal period before the key can expire, so two holders never overlap.
      if (held && Date.now() >= heldUntil - Math.floor(ttlMs / 3)) await change(false);
    }
  };

  let attempting: Promise<void> | undefined;
  const loop = (): void => {
    if (stopped) return;
    attempting = attempt().finally(() => {
      attempting = undefined;
      if (!stopped) timer = setTimeout(loop, Math.max(1, Math.floor(ttlMs / 3)));
    });
  };
  loop();
  const first = attempting!.then(() => transition);

  return {
    get held() {
      return held;
    },
    settled: () => first,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await attempting;
      await change(false);
      // Also when an attempt took the key as we stopped: the key is ours only if it holds our token.
      await redis.eval(RELEASE, 1, key, token).catch((error: unknown) => log.debug({ err: error, key }, 'lease not released; it expires'));
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
