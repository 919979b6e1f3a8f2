import { createPubSub, type PubSubEventTarget, type Repeater } from '@graphql-yoga/subscription';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createErrorReporter, createRedisClient, type RedisTarget } from './events/redis';

/**
 * Pub/sub for GraphQL subscriptions across replicas: `publish` on any replica reaches the
 * subscribers of every replica through Redis PUBLISH/SUBSCRIBE. Fire-and-forget, latest value wins:
 * nothing is stored, and a message published while no replica listens is gone. Domain events do
 * not belong here (they go through the outbox and BullMQ).
 */

const DEFAULT_PREFIX = 'mercado:pubsub:';

export interface RedisPubSubOptions {
  /** Where Redis is: a `redis://` URL or ioredis options. */
  redisUrl: RedisTarget;
  /** Put before every topic to form the Redis channel; replicas that share topics share the prefix. Default `mercado:pubsub:`. */
  prefix?: string;
  /** Connection errors are logged here (the same message at most once a minute at warn). */
  log?: Logger;
  /** Called with every connection or publish error, after logging. */
  onError?: (error: unknown) => void;
}

/**
 * A type-graphql compatible PubSub (pass it to `buildSchema({ pubSub })`) whose messages go
 * through Redis. Payloads travel as JSON: a `Date` arrives as its ISO string.
 */
export interface RedisPubSub {
  /** Publishes `payload` on `topic` (or `topic:id` when given two arguments); never throws. */
  publish(topic: string, ...args: [unknown] | [string | number, unknown]): void;
  /** Every message published on `topic` (or `topic:id`) from now on, until the iterator is returned. */
  subscribe(topic: string, id?: string | number): Repeater<unknown>;
  /**
   * Resolves once Redis confirmed a subscription to `topic`, so a message published after it is
   * delivered here. Tests wait on it instead of sleeping; it waits for a subscriber that does not
   * exist yet, too.
   */
  whenSubscribed(topic: string): Promise<void>;
  /** Resolves when both connections are ready. */
  ready(): Promise<void>;
  /** PING on the publishing connection, for readiness checks; rejects while Redis is unreachable. */
  ping(): Promise<unknown>;
  /** Messages not sent because the publishing connection was down (latest value wins, so they are dropped). */
  readonly dropped: number;
  /** Unsubscribes, ends every open subscription and closes both connections. */
  close(): Promise<void>;
}

type Listener = ((event: { detail: unknown }) => void) | { handleEvent(event: { detail: unknown }): void };

interface ChannelState {
  listeners: Set<Listener>;
  /** Resolved when Redis acknowledged the SUBSCRIBE. */
  active: boolean;
}

/** Builds the pub/sub on two ioredis connections: one publishes, one is in subscriber mode. */
export function createRedisPubSub(options: RedisPubSubOptions): RedisPubSub {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const log = options.log;
  const reporter = log ? createErrorReporter(log, { component: 'pubsub' }, 'redis pub/sub connection error') : null;
  const report = (error: unknown): void => {
    reporter?.error(error);
    options.onError?.(error);
  };

  // A publish while Redis is unreachable fails at once instead of queueing stale values. Publishes
  // made in one tick go out in one write (auto-pipelining): a syscall per message cost more than the rest.
  const publisher: Redis = createRedisClient(options.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true });
  // Subscriber mode: ioredis re-subscribes every channel after a reconnect.
  const subscriber: Redis = createRedisClient(options.redisUrl, { autoResubscribe: true, maxRetriesPerRequest: null });
  publisher.on('error', report);
  subscriber.on('error', report);
  publisher.on('ready', () => reporter?.recovered());

  const channels = new Map<string, ChannelState>();
  const waiters = new Map<string, Set<() => void>>();
  let dropped = 0;
  let closed = false;

  const notifySubscribed = (topic: string): void => {
    const pending = waiters.get(topic);
    if (!pending) return;
    waiters.delete(topic);
    for (const resolve of pending) resolve();
  };

  subscriber.on('message', (channel: string, message: string) => {
    if (!channel.startsWith(prefix)) return;
    const topic = channel.slice(prefix.length);
    const state = channels.get(topic);
    if (!state) return;
    let detail: unknown;
    try {
      detail = JSON.parse(message);
    } catch (error) {
      log?.warn({ err: error, channel }, 'pub/sub message is not JSON; ignored');
      return;
    }
    for (const listener of [...state.listeners]) {
      try {
        if (typeof listener === 'function') listener({ detail });
        else listener.handleEvent({ detail });
      } catch (error) {
        // One subscriber failing (e.g. an overflowing iterator) must not starve the others.
        log?.warn({ err: error, topic }, 'pub/sub listener failed');
      }
    }
  });

  // ioredis re-subscribes after a reconnect; the channels are live again once it is ready.
  subscriber.on('ready', () => {
    reporter?.recovered();
    for (const [topic, state] of channels) {
      if (state.active) notifySubscribed(topic);
    }
  });

  const target = {
    addEventListener(topic: string, listener: Listener | null): void {
      if (!listener || closed) return;
      let state = channels.get(topic);
      if (state) {
        state.listeners.add(listener);
        return;
      }
      state = { listeners: new Set([listener]), active: false };
      channels.set(topic, state);
      const subscribing = state;
      subscriber.subscribe(prefix + topic).then(
        () => {
          if (channels.get(topic) !== subscribing) return;
          subscribing.active = true;
          notifySubscribed(topic);
        },
        (error: unknown) => {
          if (!closed) report(error);
        },
      );
    },
    removeEventListener(topic: string, listener: Listener | null): void {
      const state = channels.get(topic);
      if (!state || !listener) return;
      state.listeners.delete(listener);
      if (state.listeners.size > 0) return;
      channels.delete(topic);
      if (!closed) subscriber.unsubscribe(prefix + topic).catch((error: unknown) => report(error));
    },
    dispatchEvent(event: { type: string; detail?: unknown }): boolean {
      if (closed) return false;
      if (publisher.status !== 'ready') {
        dropped += 1;
        return false;
      }
      let message: string;
      try {
        message = JSON.stringify(event.detail ?? null);
      } catch (error) {
        report(error);
        return false;
      }
      publisher.publish(prefix + event.type, message).catch((error: unknown) => {
        dropped += 1;
        report(error);
      });
      return true;
    },
  };

  // createPubSub only calls the three methods above; the DOM EventTarget type asks for more.
  const pubsub = createPubSub<Record<string, [unknown] | [string | number, unknown]>>({
    eventTarget: target as unknown as PubSubEventTarget<Record<string, [unknown] | [string | number, unknown]>>,
  });
  const open = new Set<Repeater<unknown>>();

  const connected = (client: Redis): Promise<void> =>
    client.status === 'ready'
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const onReady = () => {
            client.off('end', onEnd);
            resolve();
          };
          const onEnd = () => {
            client.off('ready', onReady);
            reject(new Error('redis connection closed'));
          };
          client.once('ready', onReady);
          client.once('end', onEnd);
        });

  return {
    publish(topic, ...args) {
      (pubsub.publish as (topic: string, ...rest: unknown[]) => void)(topic, ...args);
    },
    subscribe(topic, id) {
      const repeater = (pubsub.subscribe as (topic: string, id?: string | number) => Repeater<unknown>)(topic, id);
      open.add(repeater);
      const end = repeater.return.bind(repeater);
      repeater.return = (value?: unknown) => {
        open.delete(repeater);
        return end(value as never);
      };
      return repeater;
    },
    whenSubscribed(topic) {
      if (channels.get(topic)?.active && subscriber.status === 'ready') return Promise.resolve();
      return new Promise<void>((resolve) => {
        let pending = waiters.get(topic);
        if (!pending) waiters.set(topic, (pending = new Set()));
        pending.add(resolve);
      });
    },
    async ready() {
      await Promise.all([connected(publisher), connected(subscriber)]);
    },
    ping() {
      return publisher.ping();
    },
    get dropped() {
      return dropped;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...open].map((repeater) => repeater.return()));
      channels.clear();
      const quit = async (client: Redis) => {
        if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
        else client.disconnect();
      };
      await Promise.all([quit(publisher), quit(subscriber)]);
    },
  };
}

export interface ConflateHooks<T> {
  /** Every value taken from the source, before it is buffered (tests and metrics). */
  onReceive?(value: T): void;
  /** A buffered value nobody consumed was replaced by a newer one of the same key. */
  onReplace?(replaced: T, latest: T): void;
}

/**
 * Reads `source` eagerly and keeps, per key, only the latest value the consumer has not taken yet,
 * so a slow consumer gets the newest state instead of a backlog. Keys come out in the order their
 * first pending value arrived (a busy key cannot starve a quiet one). Returning the iterator
 * returns the source.
 */
export function conflate<T, K>(source: AsyncIterable<T>, keyOf: (value: T) => K, hooks: ConflateHooks<T> = {}): AsyncIterableIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const pending = new Map<K, T>();
  let waiting: { resolve(result: IteratorResult<T>): void; reject(error: unknown): void } | null = null;
  let finished = false;
  let failure: { error: unknown } | null = null;

  const settleWaiting = (): void => {
    if (!waiting) return;
    const waiter = waiting;
    if (pending.size > 0) {
      waiting = null;
      const [key, value] = pending.entries().next().value as [K, T];
      pending.delete(key);
      waiter.resolve({ value, done: false });
    } else if (failure) {
      waiting = null;
      waiter.reject(failure.error);
    } else if (finished) {
      waiting = null;
      waiter.resolve({ value: undefined, done: true });
    }
  };

  void (async () => {
    try {
      while (!finished) {
        const result = await iterator.next();
        if (result.done || finished) break;
        const value = result.value;
        hooks.onReceive?.(value);
        const key = keyOf(value);
        const previous = pending.get(key);
        if (previous !== undefined) hooks.onReplace?.(previous, value);
        pending.set(key, value);
        settleWaiting();
      }
    } catch (error) {
      if (!finished) failure = { error };
    }
    finished = true;
    settleWaiting();
  })();

  const result: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]() {
      return result;
    },
    next() {
      if (waiting) return Promise.reject(new Error('conflate: next() called again before the previous call settled'));
      return new Promise<IteratorResult<T>>((resolve, reject) => {
        waiting = { resolve, reject };
        settleWaiting();
      });
    },
    async return() {
      finished = true;
      pending.clear();
      settleWaiting();
      await iterator.return?.();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      finished = true;
      pending.clear();
      settleWaiting();
      await iterator.return?.();
      throw error;
    },
  };
  return result;
}
