import type { ExecutionResult } from 'graphql';
import pino from 'pino';
import { AppError } from '../../../subgraphs/kit/src/errors';
import type { ClientSocket } from '../../src/subscriptions/direct';
import type { UpstreamEvent } from '../../src/subscriptions/execute';
import { SubscriptionHub, type ClientResults, type HubRequest, type SubscriptionHubOptions } from '../../src/subscriptions/fanout';
import type { FeedListener, FeedSpec, UpstreamPool } from '../../src/subscriptions/upstream';

/** A client socket that records what the hub writes to it. */
class FakeSocket implements ClientSocket {
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: { id: string; type: string; payload: ExecutionResult }[] = [];
  private waiters: (() => void)[] = [];

  send(data: string): void {
    this.sent.push(JSON.parse(data) as FakeSocket['sent'][number]);
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Resolves once `count` messages were written. */
  async received(count: number): Promise<void> {
    while (this.sent.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  prices(): unknown[] {
    return this.sent.map((message) => (message.payload.data as { n: number } | null)?.n);
  }
}

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

const feed: FeedSpec = { serviceName: 'trading', url: 'ws://trading/graphql', query: 'subscription { x }', variables: {}, requestId: 'r' };
const event = (n: number): UpstreamEvent => ({ data: { n } });
/** One event-loop turn: the hub serves the next slice after a setImmediate. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(options: Partial<SubscriptionHubOptions> = {}) {
  const { pool, listeners, released } = stubPool();
  const hub = new SubscriptionHub({ pool, ...options });
  let serialized = 0;
  const serialize = (result: ExecutionResult) => {
    serialized += 1;
    return JSON.stringify(result);
  };
  const request = (socket: ClientSocket, id: string, overrides: Partial<HubRequest> = {}): HubRequest => ({
    key: 'prices',
    feed,
    conflate: true,
    execute: async (upstream) => ({ data: upstream.data ?? null }),
    log: pino({ level: 'silent' }),
    direct: { socket, id, serialize },
    ...overrides,
  });
  /** `count` clients, each iterated as graphql-ws does (the first next() makes it live). */
  const clients = (count: number, idOf = (index: number) => String(index + 1)) =>
    Array.from({ length: count }, (_, index) => {
      const socket = new FakeSocket();
      const results = hub.subscribe(request(socket, idOf(index)));
      const end = results.next();
      return { socket, results, end };
    });
  return { hub, listeners, released, request, clients, serialized: () => serialized };
}

describe('shared subscriptions written straight to the sockets', () => {
  it('serializes each event once and sends it under every client’s own operation id', async () => {
    const { listeners, clients, serialized } = setup();
    const ids = ['1', 'a"b\\c', 'é ü 🚀'];
    const [one, two, three] = clients(3, (index) => ids[index]!);

    listeners[0]!.next(event(7));
    await three!.socket.received(1);

    for (const [client, id] of [
      [one!, ids[0]],
      [two!, ids[1]],
      [three!, ids[2]],
    ] as const) {
      expect(client.socket.sent).toEqual([{ id, type: 'next', payload: { data: { n: 7 } } }]);
    }
    expect(serialized()).toBe(1);
  });

  it('serves a large group in slices, one event-loop turn each, and every client gets the event', async () => {
    const { listeners, clients } = setup({ sliceSize: 4 });
    const all = clients(10);

    listeners[0]!.next(event(1));
    await all[0]!.socket.received(1);
    // The first slice went out at once; the rest follow on later turns.
    expect(all.filter((client) => client.socket.sent.length === 1)).toHaveLength(4);
    await all[9]!.socket.received(1);

    for (const client of all) expect(client.socket.prices()).toEqual([1]);
  });

  it('gives the clients not served yet the newest event when one arrives mid-delivery, and the others it next', async () => {
    const { listeners, clients } = setup({ sliceSize: 4 });
    const all = clients(10);

    listeners[0]!.next(event(1));
    await all[0]!.socket.received(1);
    listeners[0]!.next(event(2));
    await all[0]!.socket.received(2);
    await turn();
    await turn();
    await turn();

    // The first slice got 1 then 2; the ones after it skipped straight to 2.
    for (const client of all.slice(0, 4)) expect(client.socket.prices()).toEqual([1, 2]);
    for (const client of all.slice(4)) expect(client.socket.prices()).toEqual([2]);
  });

  it('skips a backed-up socket and sends it only the newest event once it drains', async () => {
    const { listeners, clients } = setup({ maxBufferedBytes: 1_000, drainCheckMs: 1 });
    const [slow, fast] = clients(2);
    slow!.socket.bufferedAmount = 5_000;

    listeners[0]!.next(event(1));
    await fast!.socket.received(1);
    listeners[0]!.next(event(2));
    await fast!.socket.received(2);
    expect(slow!.socket.sent).toEqual([]);

    slow!.socket.bufferedAmount = 0;
    await slow!.socket.received(1);

    expect(slow!.socket.prices()).toEqual([2]);
    expect(fast!.socket.prices()).toEqual([1, 2]);
  });

  it('writes nothing before graphql-ws iterates, then the newest event at once; a later client gets no earlier event', async () => {
    const { hub, listeners, request, clients } = setup();
    const [live] = clients(1);
    const waitingSocket = new FakeSocket();
    const waiting = hub.subscribe(request(waitingSocket, 'w'));

    listeners[0]!.next(event(1));
    await live!.socket.received(1);
    listeners[0]!.next(event(2));
    await live!.socket.received(2);
    expect(waitingSocket.sent).toEqual([]);

    void waiting.next();
    expect(waitingSocket.prices()).toEqual([2]);

    const [late] = clients(1);
    listeners[0]!.next(event(3));
    await late!.socket.received(1);
    expect(late!.socket.prices()).toEqual([3]);
  });

  it('ends with the feed’s errors as a last next message, then finishes the iterator (graphql-ws sends complete)', async () => {
    const { listeners, clients, released } = setup();
    const all = clients(3);
    const failure = new AppError('UPSTREAM_UNAVAILABLE', 'Subgraph trading is unavailable', { serviceName: 'trading' });

    listeners[0]!.next(event(1));
    await all[2]!.socket.received(1);
    listeners[0]!.end([failure]);

    for (const client of all) {
      expect(await client.end).toEqual({ value: undefined, done: true });
      expect(client.socket.sent.map((message) => message.payload)).toEqual([{ data: { n: 1 } }, JSON.parse(JSON.stringify({ errors: [failure] }))]);
    }
    expect(released()).toBe(1);
  });

  it('delivers the newest event still owed before completing when the feed ends', async () => {
    const { listeners, clients } = setup({ maxBufferedBytes: 1_000, drainCheckMs: 60_000 });
    const [slow] = clients(1);
    slow!.socket.bufferedAmount = 5_000;

    listeners[0]!.next(event(1));
    listeners[0]!.end();

    expect(await slow!.end).toEqual({ value: undefined, done: true });
    expect(slow!.socket.prices()).toEqual([1]);
  });

  it('stops writing to a client that unsubscribed, and releases the feed when the last one leaves', async () => {
    const { hub, listeners, clients, released } = setup();
    const [leaving, staying] = clients(2);

    await leaving!.results.return();
    expect(await leaving!.end).toEqual({ value: undefined, done: true });
    listeners[0]!.next(event(1));
    await staying!.socket.received(1);

    expect(leaving!.socket.sent).toEqual([]);
    expect(hub.clients()).toBe(1);
    expect(released()).toBe(0);
    await staying!.results.return();
    expect(released()).toBe(1);
  });

  it('shutdown finishes every iterator without writing anything more', async () => {
    const { hub, listeners, clients, released } = setup();
    const all = clients(2);

    listeners[0]!.next(event(1));
    hub.shutdown();

    for (const client of all) expect(await client.end).toEqual({ value: undefined, done: true });
    await turn();
    for (const client of all) expect(client.socket.sent).toEqual([]);
    expect(released()).toBe(1);
  });

  it('keeps per-user (non-conflated) operations on the graphql-ws path: every event, in order, from the iterator', async () => {
    const { hub, listeners, request } = setup();
    const socket = new FakeSocket();
    const results: ClientResults = hub.subscribe(request(socket, '1', { key: 'orders', conflate: false }));

    listeners[0]!.next(event(1));
    listeners[0]!.next(event(2));

    expect(await results.next()).toEqual({ value: { data: { n: 1 } }, done: false });
    expect(await results.next()).toEqual({ value: { data: { n: 2 } }, done: false });
    expect(socket.sent).toEqual([]);
  });
});
