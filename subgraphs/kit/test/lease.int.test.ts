import { randomBytes } from 'node:crypto';
import { createLogger } from '../src/logger';
import { startLease, type Lease } from '../src/lease';
import { createRedisClient } from '../src/events';
import { REDIS_URL } from '../src/events/testing';
import { RedisProcess } from '../../../router/test/e2e/redis-process';

jest.setTimeout(30_000);

/** A contender whose transitions the test can wait on. */
function contender(key: string, redisUrl = REDIS_URL) {
  const log: string[] = [];
  const waiters: { state: string; resolve: () => void }[] = [];
  const record = (state: string) => {
    log.push(state);
    for (const waiter of waiters.filter((entry) => entry.state === state)) waiter.resolve();
  };
  const lease: Lease = startLease({
    redis: redisUrl,
    key,
    ttlMs: 1_000,
    log: createLogger('lease-test', 'silent'),
    onAcquired: () => record('acquired'),
    onLost: () => record('lost'),
  });
  const next = (state: string) => new Promise<void>((resolve) => waiters.push({ state, resolve }));
  return { lease, log, next };
}

describe('lease (real Redis)', () => {
  const redis = createRedisClient(REDIS_URL);
  const started: Lease[] = [];
  const keyOf = () => `test-lease-${randomBytes(6).toString('hex')}`;
  const track = <T extends { lease: Lease }>(entry: T): T => {
    started.push(entry.lease);
    return entry;
  };

  afterAll(async () => {
    await Promise.all(started.map((lease) => lease.stop()));
    await redis.quit();
  });

  it('gives the lease to exactly one of two contenders', async () => {
    const key = keyOf();
    const [a, b] = [track(contender(key)), track(contender(key))];
    await Promise.all([a.lease.settled(), b.lease.settled()]);
    expect([a.lease.held, b.lease.held].filter(Boolean)).toHaveLength(1);
    expect([...a.log, ...b.log]).toEqual(['acquired']);
  });

  it('hands over when the holder stops, and the stopped one never starts again', async () => {
    const key = keyOf();
    const first = track(contender(key));
    await first.lease.settled();
    expect(first.lease.held).toBe(true);
    const second = track(contender(key));
    await second.lease.settled();
    expect(second.lease.held).toBe(false);

    const takeover = second.next('acquired');
    await first.lease.stop();
    expect(first.log).toEqual(['acquired', 'lost']);
    await takeover;
    expect(second.lease.held).toBe(true);
    expect(await redis.get(key)).not.toBeNull();
    expect(first.log).toEqual(['acquired', 'lost']);
  });

  it('stops the holder whose key was taken by someone else', async () => {
    const key = keyOf();
    const holder = track(contender(key));
    await holder.lease.settled();
    const lost = holder.next('lost');
    await redis.set(key, 'another process', 'PX', 60_000);
    await lost;
    expect(holder.lease.held).toBe(false);
    // Its stop leaves the other process's key alone.
    await holder.lease.stop();
    expect(await redis.get(key)).toBe('another process');
    await redis.del(key);
  });

  it('gives the lease up when the holder fails to start its work', async () => {
    const key = keyOf();
    const failing = startLease({
      redis: REDIS_URL,
      key,
      ttlMs: 1_000,
      log: createLogger('lease-test', 'silent'),
      onAcquired: () => {
        throw new Error('feed would not start');
      },
      onLost: () => undefined,
    });
    started.push(failing);
    await failing.settled();
    expect(failing.held).toBe(false);
    expect(await redis.get(key)).toBeNull();
  });

  it('stops the holder that can no longer reach Redis', async () => {
    const server = await RedisProcess.start();
    try {
      const holder = track(contender(keyOf(), server.url));
      await holder.lease.settled();
      expect(holder.lease.held).toBe(true);
      const lost = holder.next('lost');
      await server.kill();
      await lost;
      expect(holder.lease.held).toBe(false);
      expect(holder.log).toEqual(['acquired', 'lost']);
    } finally {
      await server.stop();
    }
  });
});
