import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createLogger } from '../src';
import { FixedWindowRateLimiter, MEMORY_MIN_LIMIT } from '../src/rate-limit';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('FixedWindowRateLimiter (kit)', () => {
  const prefix = `test:rate:${randomBytes(4).toString('hex')}:`;
  const log = createLogger('rate-limit-test', 'silent');
  // Two clients: two replicas sharing the count.
  const redisA = new Redis(REDIS_URL);
  const redisB = new Redis(REDIS_URL);
  const limiter = (redis: Redis, limit: number, syncIntervalMs?: number) =>
    new FixedWindowRateLimiter(redis, { limit, windowSeconds: 60 }, log, prefix, { syncIntervalMs });
  const counted = async (caller: string) => Number(await redisA.get(`${prefix}${caller}`));
  const hits = async (target: FixedWindowRateLimiter, caller: string, count: number) => {
    const allowed: boolean[] = [];
    for (let index = 0; index < count; index += 1) allowed.push((await target.hit(caller)).allowed);
    return allowed;
  };

  afterAll(async () => {
    const keys = await redisA.keys(`${prefix}*`);
    if (keys.length > 0) await redisA.del(...keys);
    await Promise.all([redisA.quit(), redisB.quit()]);
  });

  it('answers hits far from the limit from memory and adds them in Redis together', async () => {
    // No timed sync in this test: only the explicit one below.
    const replica = limiter(redisA, 1000, 60_000);
    expect(await hits(replica, 'far', 50)).toEqual(Array(50).fill(true));
    // The first hit asked Redis; the other 49 wait for the sync.
    expect(await counted('far')).toBe(1);
    await replica.sync();
    expect(await counted('far')).toBe(50);
  });

  it('asks Redis for every hit past half the limit, so the refusal comes at the limit exactly', async () => {
    const replica = limiter(redisA, 100, 60_000);
    const allowed = await hits(replica, 'near', 102);
    expect(allowed).toEqual([...Array(100).fill(true), false, false]);
    // The hits from memory went with the first hit past half.
    expect(await counted('near')).toBe(102);
  });

  it('counts a limit under MEMORY_MIN_LIMIT hit by hit', async () => {
    const replica = limiter(redisA, MEMORY_MIN_LIMIT - 1, 60_000);
    await hits(replica, 'small', 5);
    expect(await counted('small')).toBe(5);
  });

  it('shares the count between replicas, hits from memory included once synced', async () => {
    const replicaA = limiter(redisA, 1000, 60_000);
    const replicaB = limiter(redisB, 1000, 60_000);
    await hits(replicaA, 'shared', 10);
    await replicaA.sync();
    await hits(replicaB, 'shared', 1);
    expect(await counted('shared')).toBe(11);
  });

  it('adds the hits still in memory to Redis on close, and counts every later hit at once', async () => {
    const replica = limiter(redisA, 1000, 60_000);
    await hits(replica, 'closing', 20);
    expect(await counted('closing')).toBe(1);
    await replica.close();
    expect(await counted('closing')).toBe(20);
    await hits(replica, 'closing', 2);
    expect(await counted('closing')).toBe(22);
  });

  it('asks Redis for every hit when syncing is off', async () => {
    const replica = limiter(redisA, 1000, 0);
    await hits(replica, 'exact', 5);
    expect(await counted('exact')).toBe(5);
  });

  it('answers a refusal with the seconds left in the window', async () => {
    const replica = limiter(redisA, 1);
    expect(await replica.hit('retry')).toMatchObject({ allowed: true });
    const refused = await replica.hit('retry');
    expect(refused.allowed).toBe(false);
    // What is left of the 60 s window, not the 1 s floor.
    expect(refused.retryAfterSeconds).toBeGreaterThan(1);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it('lets hits through while Redis cannot be reached', async () => {
    const away = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
    away.on('error', () => undefined);
    const replica = limiter(away, 1);
    expect((await hits(replica, 'away', 3))).toEqual([true, true, true]);
    away.disconnect();
  });
});
