import type { ExecutionResult } from 'graphql';
import pino from 'pino';
import { AppError } from '../../../subgraphs/kit/src/errors';
import type { UpstreamEvent } from '../../src/subscriptions/execute';
import { SubscriptionHub, type HubRequest } from '../../src/subscriptions/fanout';
import { deferred, type Deferred } from '../support/subgraph';
import type { FeedListener, FeedSpec, UpstreamPool } from '../../src/subscriptions/upstream';

/** A pool that records listeners and releases instead of talking to subgraphs. */
function stubPool() {
  const listeners: FeedListener[] = [];
  let released = 0;
  const pool = {
    acquire(_spec: FeedSpec, listener: FeedListener) {
      listeners.push(listener);
      return () => {
        released += 1;
      };
    },
  } as unknown as UpstreamPool;
  return { pool, listeners, released: () => released };
}

const feed: FeedSpec = { serviceName: 'orders', url: 'ws://orders/graphql', query: 'subscription { x }', variables: {}, requestId: 'r' };
const event = (n: number): UpstreamEvent => ({ data: { n } });

function request(overrides: Partial<HubRequest> = {}): HubRequest {
  return {
    key: 'k',
    feed,
    conflate: false,
    execute: async (upstream) => ({ data: upstream.data ?? null }),
    log: pino({ level: 'silent' }),
    ...overrides,
  };
}

const collect = async (stream: AsyncIterable<ExecutionResult>): Promise<ExecutionResult[]> => {
  const results: ExecutionResult[] = [];
  for await (const result of stream) results.push(result);
  return results;
};

describe('SubscriptionHub', () => {
  it('executes each event once for every client of the same operation, in order', async () => {
    const { pool, listeners } = stubPool();
    const hub = new SubscriptionHub({ pool });
    let executions = 0;
    const same = request({
      execute: async (upstream) => {
        executions += 1;
        return { data: upstream.data ?? null };
      },
    });
    const first = hub.subscribe(same);
    const second = hub.subscribe(same);
    expect(listeners).toHaveLength(1);

    listeners[0]!.next(event(1));
    listeners[0]!.next(event(2));
    listeners[0]!.end();

    expect(await collect(first)).toEqual([{ data: { n: 1 } }, { data: { n: 2 } }]);
    expect(await collect(second)).toEqual([{ data: { n: 1 } }, { data: { n: 2 } }]);
    expect(executions).toBe(2);
  });

  it('conflates a public feed: events arriving while one executes collapse to the latest', async () => {
    const { pool, listeners } = stubPool();
    const hub = new SubscriptionHub({ pool });
    // Execution number i starts by resolving entered[i], then waits for gates[i].
    const entered: Deferred[] = [deferred(), deferred(), deferred()];
    const gates: Deferred[] = [deferred(), deferred(), deferred()];
    const executed: unknown[] = [];
    const stream = hub.subscribe(
      request({
        conflate: true,
        execute: async (upstream) => {
          const index = executed.length;
          executed.push(upstream.data);
          entered[index]!.resolve();
          await gates[index]!.promise;
          return { data: upstream.data ?? null };
        },
      }),
    );

    listeners[0]!.next(event(1));
    await entered[0]!.promise;
    listeners[0]!.next(event(2));
    listeners[0]!.next(event(3));
    gates[0]!.resolve();
    expect(await stream.next()).toEqual({ value: { data: { n: 1 } }, done: false });
    await entered[1]!.promise;
    gates[1]!.resolve();
    expect(await stream.next()).toEqual({ value: { data: { n: 3 } }, done: false });
    // Event 2 was replaced by 3 while 1 executed: never executed, never delivered.
    expect(executed).toEqual([{ n: 1 }, { n: 3 }]);
  });

  it('delivers the end of a feed after the events before it, with its errors', async () => {
    const { pool, listeners } = stubPool();
    const hub = new SubscriptionHub({ pool });
    const stream = hub.subscribe(request());
    const failure = new AppError('UPSTREAM_UNAVAILABLE', 'Subgraph orders is unavailable');

    listeners[0]!.next(event(1));
    listeners[0]!.end([failure]);

    expect(await collect(stream)).toEqual([{ data: { n: 1 } }, { errors: [failure] }]);
    expect(hub.clients()).toBe(0);
  });

  it('releases the feed when the last client leaves, not before', async () => {
    const { pool, released } = stubPool();
    const hub = new SubscriptionHub({ pool });
    const first = hub.subscribe(request());
    const second = hub.subscribe(request());

    await first.return();
    expect(released()).toBe(0);
    await second.return();
    expect(released()).toBe(1);

    // A new client opens a new feed.
    hub.subscribe(request());
    expect(hub.clients()).toBe(1);
  });

  it('shutdown completes every client at once and releases their feeds', async () => {
    const { pool, listeners, released } = stubPool();
    const hub = new SubscriptionHub({ pool });
    const one = hub.subscribe(request({ key: 'a' }));
    const two = hub.subscribe(request({ key: 'b' }));
    listeners[0]!.next(event(1));

    hub.shutdown();

    expect(await collect(one)).toEqual([]);
    expect(await collect(two)).toEqual([]);
    expect(released()).toBe(2);
  });

  it('turns an execution failure into a masked error for that event only', async () => {
    const { pool, listeners } = stubPool();
    const hub = new SubscriptionHub({ pool });
    const stream = hub.subscribe(
      request({
        execute: async (upstream) => {
          if ((upstream.data as { n: number }).n === 1) throw new Error('boom');
          return { data: upstream.data ?? null };
        },
      }),
    );

    listeners[0]!.next(event(1));
    listeners[0]!.next(event(2));
    listeners[0]!.end();

    const results = await collect(stream);
    expect(results.map((result) => result.errors?.map((error) => error.message))).toEqual([['Internal server error'], undefined]);
    expect(results[1]).toEqual({ data: { n: 2 } });
  });
});
