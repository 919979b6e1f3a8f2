import { randomBytes } from 'node:crypto';
import { Repeater } from '@graphql-yoga/subscription';
import { Redis } from 'ioredis';
import { createLogger } from '../src';
import { conflate, createRedisPubSub, type RedisPubSub } from '../src/pubsub';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Price {
  symbol: string;
  price: string;
}

/** Resolves after `count` calls of the returned callback. */
function counter(count: number): { tick(): void; reached: Promise<void> } {
  let seen = 0;
  let resolve!: () => void;
  const reached = new Promise<void>((done) => (resolve = done));
  return {
    tick() {
      seen += 1;
      if (seen === count) resolve();
    },
    reached,
  };
}

describe('Redis pub/sub (kit)', () => {
  // Two instances on the same Redis and prefix: two replicas of a subgraph.
  const prefix = `test:pubsub:${randomBytes(4).toString('hex')}:`;
  const log = createLogger('pubsub-test', 'silent');
  let replicaA: RedisPubSub;
  let replicaB: RedisPubSub;

  beforeAll(async () => {
    replicaA = createRedisPubSub({ redisUrl: REDIS_URL, prefix, log });
    replicaB = createRedisPubSub({ redisUrl: REDIS_URL, prefix, log });
    await Promise.all([replicaA.ready(), replicaB.ready()]);
  });

  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
  });

  it('delivers a message published on one replica to subscribers on every replica', async () => {
    const onB = replicaB.subscribe('greeting')[Symbol.asyncIterator]();
    const onA = replicaA.subscribe('greeting')[Symbol.asyncIterator]();
    const nextB = onB.next();
    const nextA = onA.next();
    await Promise.all([replicaA.whenSubscribed('greeting'), replicaB.whenSubscribed('greeting')]);

    replicaA.publish('greeting', { text: 'hello', at: new Date('2024-01-02T03:04:05.000Z') });

    // JSON on the wire: a Date arrives as its ISO string.
    await expect(nextB).resolves.toEqual({ value: { text: 'hello', at: '2024-01-02T03:04:05.000Z' }, done: false });
    await expect(nextA).resolves.toEqual({ value: { text: 'hello', at: '2024-01-02T03:04:05.000Z' }, done: false });
    await onA.return?.();
    await onB.return?.();
  });

  it('keeps topics apart and supports topic ids', async () => {
    const btc = replicaB.subscribe('price', 'BTC')[Symbol.asyncIterator]();
    const next = btc.next();
    await replicaB.whenSubscribed('price:BTC');
    replicaA.publish('price', 'ETH', { price: '1' });
    replicaA.publish('price', 'BTC', { price: '2' });
    await expect(next).resolves.toEqual({ value: { price: '2' }, done: false });
    await btc.return?.();
  });

  it('unsubscribes from Redis when the last subscriber of a channel leaves', async () => {
    const inspector = new Redis(REDIS_URL);
    try {
      const channel = `${prefix}leaving`;
      const iterator = replicaB.subscribe('leaving')[Symbol.asyncIterator]();
      const pending = iterator.next();
      await replicaB.whenSubscribed('leaving');
      expect(await inspector.pubsub('NUMSUB', channel)).toEqual([channel, 1]);
      await iterator.return?.();
      await expect(pending).resolves.toEqual({ value: undefined, done: true });
      // Redis answers one connection's commands in order: once a later SUBSCRIBE is confirmed, the UNSUBSCRIBE was done.
      const probe = replicaB.subscribe('probe')[Symbol.asyncIterator]();
      const probed = probe.next();
      await replicaB.whenSubscribed('probe');
      expect(await inspector.pubsub('NUMSUB', channel)).toEqual([channel, 0]);
      await probe.return?.();
      await probed;
    } finally {
      inspector.disconnect();
    }
  });

  it('conflates: a consumer that does not keep up gets the latest value per key, oldest key first', async () => {
    const received = counter(61);
    const replaced: string[] = [];
    const prices = conflate(replicaB.subscribe('prices') as AsyncIterable<Price>, (message) => message.symbol, {
      onReceive: received.tick,
      onReplace: (previous) => replaced.push(previous.price),
    });
    await replicaB.whenSubscribed('prices');

    // ETH first, then 50 BTC prices, then 10 more ETH, all before the consumer reads anything.
    replicaA.publish('prices', { symbol: 'ETH', price: 'e0' });
    for (let i = 1; i <= 50; i += 1) replicaA.publish('prices', { symbol: 'BTC', price: `b${i}` });
    for (let i = 1; i <= 10; i += 1) replicaA.publish('prices', { symbol: 'ETH', price: `e${i}` });
    await received.reached;

    await expect(prices.next()).resolves.toEqual({ value: { symbol: 'ETH', price: 'e10' }, done: false });
    await expect(prices.next()).resolves.toEqual({ value: { symbol: 'BTC', price: 'b50' }, done: false });
    expect(replaced).toHaveLength(59);

    // Nothing is left over: the next value is the next message published.
    const next = prices.next();
    replicaA.publish('prices', { symbol: 'BTC', price: 'b51' });
    await expect(next).resolves.toEqual({ value: { symbol: 'BTC', price: 'b51' }, done: false });
    await prices.return?.();
  });

  it('conflate hands values through one by one when the consumer keeps up', async () => {
    const prices = conflate(replicaB.subscribe('steady') as AsyncIterable<Price>, (message) => message.symbol);
    await replicaB.whenSubscribed('steady');
    for (let i = 1; i <= 3; i += 1) {
      const next = prices.next();
      replicaA.publish('steady', { symbol: 'BTC', price: String(i) });
      await expect(next).resolves.toEqual({ value: { symbol: 'BTC', price: String(i) }, done: false });
    }
    await prices.return?.();
    await expect(prices.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it('conflates several topics merged, and returning it releases every channel', async () => {
    const inspector = new Redis(REDIS_URL);
    try {
      const prices = conflate(Repeater.merge([replicaB.subscribe('multi:BTC'), replicaB.subscribe('multi:ETH')]) as AsyncIterable<Price>, (message) => message.symbol);
      await Promise.all([replicaB.whenSubscribed('multi:BTC'), replicaB.whenSubscribed('multi:ETH')]);
      const next = prices.next();
      replicaA.publish('multi:ETH', { symbol: 'ETH', price: '1' });
      await expect(next).resolves.toEqual({ value: { symbol: 'ETH', price: '1' }, done: false });

      await prices.return?.();
      const probe = replicaB.subscribe('probe-multi')[Symbol.asyncIterator]();
      const probed = probe.next();
      await replicaB.whenSubscribed('probe-multi');
      expect(await inspector.pubsub('NUMSUB', `${prefix}multi:BTC`, `${prefix}multi:ETH`)).toEqual([`${prefix}multi:BTC`, 0, `${prefix}multi:ETH`, 0]);
      await probe.return?.();
      await probed;
    } finally {
      inspector.disconnect();
    }
  });

  it('close() ends open subscriptions', async () => {
    const own = createRedisPubSub({ redisUrl: REDIS_URL, prefix, log });
    const iterator = own.subscribe('closing')[Symbol.asyncIterator]();
    const pending = iterator.next();
    await own.whenSubscribed('closing');
    await own.close();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(() => own.publish('closing', { ignored: true })).not.toThrow();
  });
});
