/**
 * Load generator of `npm run bench:subscriptions`, run as its own process (pinned to a core by the
 * caller, talking to it over IPC): holds `count` real graphql-ws clients (one `ws` socket each),
 * every one subscribed to `priceUpdated` on one symbol (`client: 'lean'`: the same
 * graphql-transport-ws messages spoken on the `ws` socket by hand, without graphql-ws's client,
 * about a fifth less CPU per message here, where the generators share one core). For each message
 * it takes the receive time (Date.now(), the same clock the feed stamps `updatedAt` with) and keeps
 * a per-millisecond latency histogram of the messages whose tick falls in the measuring window,
 * per-client counts, and each client's last received tick and price.
 *
 * Protocol (parent → child): `connect`, `window {from, to}`, `settle {targets, timeoutMs}`, `close`.
 * Child → parent: `started`, `progress`, `connected`, `report`.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface SubscribersSetup {
  url: string;
  count: number;
  /** Global index of this generator's first client (client i subscribes to symbols[i % symbols.length]). */
  firstIndex: number;
  symbols: string[];
  /** Clients opened at once; the next batch starts when every client of this one got its first price. */
  batch: number;
  /** How long the ramp waits for one batch's first prices. */
  batchTimeoutMs: number;
  /** After this long the remaining batches are opened without waiting for each other. */
  rampMs: number;
  /** graphql-ws's client, or the protocol spoken directly on `ws`. */
  client: 'graphql-ws' | 'lean';
}

export type ParentMessage =
  | { type: 'connect' }
  | { type: 'window'; from: number; to: number }
  | { type: 'settle'; targets: Record<string, number>; timeoutMs: number }
  | { type: 'close' };

export interface SubscribersReport {
  /** Latency histogram of window messages: index = ms (last bucket = that many or more). */
  histogram: number[];
  /** Per client: window messages received, symbol index, last tick time and price, latest reached. */
  windowCounts: number[];
  symbolOf: number[];
  /** Got at least one price. */
  subscribed: boolean[];
  lastTick: number[];
  lastPrice: (string | null)[];
  /** Messages older than one already received (must be 0: conflation never goes back). */
  outOfOrder: number;
  /** Messages received in total, window or not. */
  messages: number;
  errors: number;
  closed: number;
  /** Time from `settle` until every client reached its target (or the timeout). */
  settleMs: number;
  settled: boolean;
  /** This process during the window: CPU used / wall time, and event-loop delay p99 and max in ms. */
  cpu: number;
  loopDelayP99: number;
  loopDelayMax: number;
}

export type ChildMessage =
  | { type: 'started' }
  | { type: 'progress'; connected: number }
  | { type: 'connected'; connected: number; failed: number; firstError?: string }
  | { type: 'report'; report: SubscribersReport };

const HISTOGRAM_MS = 60_000;
const QUERY = 'subscription BenchPrices($symbols: [String!]!) { priceUpdated(symbols: $symbols) { symbol lastPrice updatedAt } }';

/** ws without permessage-deflate (the servers do not enable it either) and with a handshake timeout. */
class BenchSocket extends WebSocket {
  constructor(address: string | URL, protocols?: string | string[]) {
    super(address, protocols, { perMessageDeflate: false, handshakeTimeout: 30_000 });
  }
}

interface Subscriber {
  dispose(): void;
  symbol: number;
  lastTick: number;
  lastPrice: string | null;
  windowCount: number;
  gotFirst: boolean;
  /** Counted in `unsettled` (subscribed when the settle began, target not reached yet). */
  awaited: boolean;
}

function send(message: ChildMessage): void {
  process.send!(message);
}

function main(): void {
  const setup = JSON.parse(process.argv[2]!) as SubscribersSetup;
  const subscribers: Subscriber[] = [];
  const histogram = new Uint32Array(HISTOGRAM_MS + 1);
  let window = { from: Infinity, to: -Infinity };
  let targets: number[] | null = null;
  let unsettled = 0;
  let onSettled: (() => void) | null = null;
  let onFirst: ((subscriber: Subscriber) => void) | null = null;
  let messages = 0;
  /** Clients that got at least one price (subscribed). */
  let firsts = 0;
  let outOfOrder = 0;
  let errors = 0;
  let closed = 0;
  let firstError: string | undefined;
  const LOOP_RESOLUTION_MS = 5;
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  let cpuAtWindow = process.cpuUsage();
  let wallAtWindow = Date.now();
  let cpu = 0;

  const reached = (subscriber: Subscriber): boolean => targets !== null && subscriber.lastTick >= targets[subscriber.symbol]!;

  function received(subscriber: Subscriber, data: { priceUpdated?: { lastPrice: string; updatedAt: string } } | null | undefined): void {
    const now = Date.now();
    messages += 1;
    const price = data?.priceUpdated;
    if (!price) {
      errors += 1;
      return;
    }
    const tick = Date.parse(price.updatedAt);
    const wasReached = reached(subscriber);
    if (tick <= subscriber.lastTick) outOfOrder += 1;
    else {
      subscriber.lastTick = tick;
      subscriber.lastPrice = price.lastPrice;
    }
    if (tick >= window.from && tick < window.to) {
      subscriber.windowCount += 1;
      histogram[Math.min(HISTOGRAM_MS, Math.max(0, now - tick))]! += 1;
    }
    if (!subscriber.gotFirst) {
      subscriber.gotFirst = true;
      firsts += 1;
      onFirst?.(subscriber);
    }
    if (subscriber.awaited && !wasReached && reached(subscriber)) {
      subscriber.awaited = false;
      unsettled -= 1;
      if (unsettled === 0) onSettled?.();
    }
  }

  function open(index: number): Subscriber {
    const symbol = (setup.firstIndex + index) % setup.symbols.length;
    const subscriber: Subscriber = { dispose: () => undefined, symbol, lastTick: -Infinity, lastPrice: null, windowCount: 0, gotFirst: false, awaited: false };
    const variables = { symbols: [setup.symbols[symbol]!] };
    if (setup.client === 'lean') openLean(subscriber, variables);
    else openGraphqlWs(subscriber, variables);
    return subscriber;
  }

  function openGraphqlWs(subscriber: Subscriber, variables: Record<string, unknown>): void {
    const client: Client = createClient({
      url: setup.url,
      webSocketImpl: BenchSocket,
      lazy: true,
      retryAttempts: 0,
      keepAlive: 0,
      on: {
        closed: () => {
          closed += 1;
        },
        error: (error) => {
          firstError ??= String((error as { message?: string })?.message ?? error);
        },
      },
    });
    subscriber.dispose = () => void client.dispose();
    client.subscribe(
      { query: QUERY, operationName: 'BenchPrices', variables },
      {
        next: (result) => received(subscriber, result.data as never),
        error: (error) => {
          errors += 1;
          firstError ??= JSON.stringify(error instanceof Error ? error.message : ((error as { reason?: string })?.reason ?? error)).slice(0, 300);
        },
        complete: () => undefined,
      },
    );
  }

  /** The same as graphql-ws's client does here (lazy, no retries, no protocol pings), on a bare `ws` socket. */
  function openLean(subscriber: Subscriber, variables: Record<string, unknown>): void {
    const socket = new BenchSocket(setup.url, 'graphql-transport-ws');
    let disposed = false;
    subscriber.dispose = () => {
      disposed = true;
      if (socket.readyState === WebSocket.OPEN) socket.close(1000, 'Normal Closure');
      else socket.terminate();
    };
    socket.on('open', () => socket.send('{"type":"connection_init"}'));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; payload?: unknown };
      if (message.type === 'next') received(subscriber, (message.payload as { data?: never }).data);
      else if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: QUERY, operationName: 'BenchPrices', variables } }));
      } else if (message.type === 'ping') socket.send('{"type":"pong"}');
      else if (message.type === 'error') {
        errors += 1;
        firstError ??= JSON.stringify(message.payload).slice(0, 300);
      }
    });
    socket.on('error', (error) => {
      firstError ??= error.message;
    });
    socket.on('close', (code, reason) => {
      if (disposed) return;
      // As graphql-ws's client reports it: the socket closed, and the subscription with an error.
      closed += 1;
      errors += 1;
      firstError ??= `closed ${code} ${String(reason)}`;
    });
  }

  /** Resolves when every one of `group` got its first price, or after `timeoutMs` (waiting on arrival). */
  function firstPrices(group: Subscriber[], timeoutMs: number): Promise<void> {
    const members = new Set(group.filter((subscriber) => !subscriber.gotFirst));
    if (members.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        onFirst = null;
        resolve();
      }
      onFirst = (subscriber) => {
        if (members.delete(subscriber) && members.size === 0) done();
      };
    });
  }

  async function connect(): Promise<void> {
    const deadline = Date.now() + setup.rampMs;
    for (let start = 0; start < setup.count; start += setup.batch) {
      const size = Math.min(setup.batch, setup.count - start);
      const batch = Array.from({ length: size }, (_, offset) => open(start + offset));
      subscribers.push(...batch);
      // The next batch starts when this one is in; past the ramp deadline (a saturated server) without waiting.
      await firstPrices(batch, Date.now() < deadline ? setup.batchTimeoutMs : 100);
      send({ type: 'progress', connected: firsts });
    }
    // Late ones get one more chance.
    await firstPrices(subscribers, setup.batchTimeoutMs);
    send({ type: 'connected', connected: firsts, failed: setup.count - firsts, firstError });
  }

  function settle(symbolTargets: Record<string, number>, timeoutMs: number): void {
    const windowCpu = process.cpuUsage(cpuAtWindow);
    cpu = (windowCpu.user + windowCpu.system) / 1000 / Math.max(1, window.to - wallAtWindow);
    loopDelay.disable();
    targets = setup.symbols.map((symbol) => symbolTargets[symbol] ?? Infinity);
    // Clients that never got a price are reported as such; the wait is for the subscribed ones.
    for (const subscriber of subscribers) subscriber.awaited = subscriber.gotFirst && !reached(subscriber);
    unsettled = subscribers.filter((subscriber) => subscriber.awaited).length;
    const started = Date.now();
    const finish = (settled: boolean) => {
      onSettled = null;
      const report: SubscribersReport = {
        histogram: Array.from(histogram),
        windowCounts: subscribers.map((subscriber) => subscriber.windowCount),
        symbolOf: subscribers.map((subscriber) => subscriber.symbol),
        subscribed: subscribers.map((subscriber) => subscriber.gotFirst),
        lastTick: subscribers.map((subscriber) => subscriber.lastTick),
        lastPrice: subscribers.map((subscriber) => subscriber.lastPrice),
        outOfOrder,
        messages,
        errors,
        closed,
        settleMs: Date.now() - started,
        settled,
        cpu,
        // The histogram measures the timer's whole period: its lag is what exceeds the resolution.
        loopDelayP99: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
        loopDelayMax: Math.max(0, loopDelay.max / 1e6 - LOOP_RESOLUTION_MS),
      };
      send({ type: 'report', report });
    };
    if (unsettled === 0) return finish(true);
    const timer = setTimeout(() => finish(false), timeoutMs);
    onSettled = () => {
      clearTimeout(timer);
      finish(true);
    };
  }

  process.on('message', (message: ParentMessage) => {
    if (message.type === 'connect') void connect();
    else if (message.type === 'window') {
      window = { from: message.from, to: message.to };
      // CPU and loop delay are measured from the window's start (the parent sends it ahead of time).
      setTimeout(() => {
        cpuAtWindow = process.cpuUsage();
        wallAtWindow = Date.now();
        loopDelay.reset();
        loopDelay.enable();
      }, Math.max(0, message.from - Date.now()));
    } else if (message.type === 'settle') settle(message.targets, message.timeoutMs);
    else if (message.type === 'close') {
      for (const subscriber of subscribers) subscriber.dispose();
      setTimeout(() => process.exit(0), 500);
    }
  });
  // The parent going away ends this process too.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'started' });
}

main();
