/**
 * `npm run bench:subscriptions`: BENCH_SUBSCRIBERS (default 5000; a comma list runs each count)
 * concurrent graphql-ws clients subscribed to `priceUpdated` on one of a few symbols, the paper
 * feed at 10 ticks/s per symbol (PAPER_TICK_MS=100, fixed PAPER_SEED): first through one router
 * process, then connected straight to the trading subgraph, to show what the router adds.
 *
 * Started here, each its own production process: the trading subgraph (fresh database, its own
 * pub/sub prefix) and the router on a supergraph composed of trading alone (the clients are
 * anonymous, so no JWKS is fetched and users is not needed). The server the clients talk to (router,
 * or trading in the direct run) is pinned to core 0; the load generators (bench/subscribers.ts,
 * BENCH_GENERATORS processes, default one per 2,500 clients and at least 2) and, in the router run,
 * trading to core 1.
 *
 * Latency: `Instrument.updatedAt` is the paper tick's own time (PaperFeed.tick stamps `timestamp`
 * with the clock when the tick is made; priceMessageOf turns it into `updatedAt`), so per message
 * latency = receive time - updatedAt on the same machine clock (ms resolution), over every message
 * whose tick falls in the window. The bench also subscribes to the feed's Redis channels itself:
 * that gives the ticks produced (expected counts, last price per symbol) and the floor (tick →
 * a Redis subscriber).
 *
 * Knobs: BENCH_MODES (router,direct), BENCH_SYMBOLS, BENCH_WARMUP_S (5), BENCH_WINDOW_S (20),
 * BENCH_SETTLE_S (10), BENCH_PER_GENERATOR (2500), BENCH_BATCH (100 clients per generator at a
 * time), BENCH_BATCH_TIMEOUT_S (15), BENCH_RAMP_S (120), BENCH_PIN=0, BENCH_RETRIES (2),
 * BENCH_PROFILE (router,trading), BENCH_KEEP_LOGS, BENCH_KEEP_DATABASES, BENCH_CLIENT (graphql-ws, or lean:
 * the protocol spoken on `ws` without graphql-ws's client, for when the generators' core is the limit).
 *
 * Each server needs a file descriptor per client: children inherit this shell's `ulimit -n`
 * (the bench prints the server's limit and warns when it is too low for the count). The machine may
 * be shared: a run waits until the cores are nearly idle, and one that other work disturbed anyway
 * is run again (then marked ⚠ if still disturbed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { printFederatedSdl } from '../subgraphs/kit/src/federation';
import { dropDatabase } from '../subgraphs/kit/src/orm';
import { composeSupergraph } from '../scripts/composition';
import { waitFor } from '../scripts/services';
import { healthy, ROOT, SUBGRAPH_PROCESSES } from '../scripts/stack';
import { buildTradingSchema } from '../subgraphs/trading/src/schema';
import { appendResults } from './results';
import { POSTGRES, REDIS } from './stack';
import type { ChildMessage, ParentMessage, SubscribersReport, SubscribersSetup } from './subscribers';

const COUNTS = (process.env.BENCH_SUBSCRIBERS ?? '5000').split(',').map((text) => Number(text.trim()));
const MODES = (process.env.BENCH_MODES ?? 'router,direct').split(',').map((text) => text.trim()) as Mode[];
const SYMBOLS = (process.env.BENCH_SYMBOLS ?? 'BTC/USDT,ETH/USDT,SOL/USDT,BNB/USDT').split(',').map((text) => text.trim());
const TICK_MS = 100;
const PAPER_SEED = 20251123;
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 5);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 20);
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 10);
const PER_GENERATOR = Number(process.env.BENCH_PER_GENERATOR ?? 2500);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const BATCH_TIMEOUT_S = Number(process.env.BENCH_BATCH_TIMEOUT_S ?? 15);
const RAMP_S = Number(process.env.BENCH_RAMP_S ?? 120);
const PIN = process.env.BENCH_PIN !== '0' && os.cpus().length >= 2;
const ROUTER_PORT = 4500;
const TRADING_PORT = 4506;
const TARGET_P99_MS = 100;
/** Cores' worth of CPU used by anything else above which a run waits to start, and is marked disturbed. */
const QUIET_CORES = 0.35;
const DISTURBED_CORES = 0.25;
const RETRIES = Number(process.env.BENCH_RETRIES ?? 2);
/** `router` and/or `trading`: run them with --cpu-prof (profiles kept with the logs, BENCH_KEEP_LOGS=1). */
const PROFILE = new Set((process.env.BENCH_PROFILE ?? '').split(',').map((text) => text.trim()));
const CLIENT = (process.env.BENCH_CLIENT ?? 'graphql-ws') as SubscribersSetup['client'];

type Mode = 'router' | 'direct';

for (const count of COUNTS) if (!Number.isInteger(count) || count < 1) throw new Error(`BENCH_SUBSCRIBERS must list positive integers, got "${process.env.BENCH_SUBSCRIBERS}"`);
for (const mode of MODES) if (mode !== 'router' && mode !== 'direct') throw new Error(`BENCH_MODES must list router and/or direct, got "${mode}"`);
if (CLIENT !== 'graphql-ws' && CLIENT !== 'lean') throw new Error(`BENCH_CLIENT must be graphql-ws or lean, got "${CLIENT}"`);

// ---------------------------------------------------------------- processes

const children = new Set<ChildProcess>();

/** Runs a TypeScript entry point under tsx, optionally pinned to a core; stdout and stderr go to `logFile`. */
function launch(
  script: string,
  args: string[],
  env: Record<string, string>,
  options: { cpu?: number; logFile?: string; ipc?: boolean; profileDir?: string },
): ChildProcess {
  const profile = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  const node = [process.execPath, ...profile, '--import', 'tsx', path.join(ROOT, script), ...args];
  const [command, ...rest] = options.cpu === undefined ? node : ['taskset', '-c', String(options.cpu), ...node];
  const log = options.logFile ? openSync(options.logFile, 'a') : 'inherit';
  const child = spawn(command!, rest, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', log, log, ...(options.ipc ? (['ipc'] as const) : [])],
  });
  if (typeof log === 'number') closeSync(log);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when every one has exited. */
async function stop(processes: Iterable<ChildProcess>, graceMs = 15_000): Promise<void> {
  const running = [...processes].filter((child) => child.exitCode === null && child.signalCode === null);
  const exits = running.map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const child of running) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, graceMs);
  await Promise.all(exits);
  clearTimeout(timer);
}

/** Tolerates a process that is gone (NaN), so a crash is reported rather than ending the bench. */
function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

function procStatus(pid: number): { rssKiB: number; hwmKiB: number; fdLimit: number } {
  const status = readProc(pid, 'status');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const limits = readProc(pid, 'limits');
  const fdLimit = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM'), fdLimit };
}

const CLOCK_TICKS = 100; // USER_HZ on Linux
/** CPU seconds the process has used (user + system). */
function cpuSeconds(pid: number): number {
  const stat = readProc(pid, 'stat');
  if (!stat) return NaN;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Median RSS of a few samples a moment apart (a GC in between moves one sample). */
async function sampleRss(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let index = 0; index < 5; index++) {
    samples.push(procStatus(pid).rssKiB);
    await sleep(200);
  }
  return samples.sort((a, b) => a - b)[2]!;
}

/** Per core: [busy, total] jiffies so far (busy = everything but idle and iowait). */
function coreTimes(): [number, number][] {
  return readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((line) => /^cpu\d+ /.test(line))
    .map((line) => {
      const values = line.split(/\s+/).slice(1, 9).map(Number);
      const total = values.reduce((sum, value) => sum + value, 0);
      return [total - values[3]! - values[4]!, total];
    });
}

function coreBusy(before: [number, number][], after: [number, number][]): number[] {
  return after.map(([busy, total], core) => (busy - before[core]![0]) / Math.max(1, total - before[core]![1]));
}

/** CPU used during the window by anything but the bench's processes (loopback TCP softirq included), in cores. */
function other(r: RunResult): number {
  return r.coreBusy.reduce((sum, busy) => sum + busy, 0) - r.serverCpu - (r.mode === 'router' ? r.tradingCpu : 0) - r.generatorCpu.reduce((sum, cpu) => sum + cpu, 0);
}

/** Other work shared the machine with the run: its figures say little about the router or trading. */
function disturbed(r: RunResult): boolean {
  return r.busyBefore > QUIET_CORES || other(r) > DISTURBED_CORES;
}

/** Waits (up to 5 min) until the machine is nearly idle, so other work does not share the cores with a run. */
async function waitForQuiet(label: string): Promise<void> {
  const deadline = Date.now() + 300_000;
  let told = false;
  while (Date.now() < deadline) {
    const from = coreTimes();
    await sleep(2_000);
    const busy = coreBusy(from, coreTimes()).reduce((sum, core) => sum + core, 0);
    if (busy < QUIET_CORES) return;
    if (!told) console.log(`[${label}] the machine is busy with other work (${(busy * 100).toFixed(0)} % of a core); waiting for it to quiet down`);
    told = true;
  }
  console.log(`[${label}] the machine stayed busy; running anyway (the run will be marked)`);
}

/** TcpExtListenOverflows of the machine (connections dropped because a listen queue was full). */
function listenOverflows(): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  for (let index = 0; index + 1 < lines.length; index += 2) {
    const names = lines[index]!.split(/\s+/);
    const values = lines[index + 1]!.split(/\s+/);
    const at = names.indexOf('ListenOverflows');
    if (names[0] === 'TcpExt:' && at >= 0) return Number(values[at]);
  }
  return NaN;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function gauges(port: number): Promise<Record<string, number>> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    const values: Record<string, number> = {};
    for (const match of text.matchAll(/^((?:router_[a-z_]*subscription[a-z_]*)|nodejs_heap_size_used_bytes|nodejs_eventloop_lag_(?:p99|max)_seconds)(?:\{[^}]*\})? (\d+(?:\.\d+)?(?:e\+\d+)?)$/gm)) {
      values[match[1]!] = Number(match[2]);
    }
    return values;
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------- the feed, seen from Redis

interface Tick {
  at: number;
  price: string;
}

/** Subscribes to the trading subgraph's price channels: every tick produced, and tick → here latency. */
class FeedMonitor {
  readonly ticks = new Map<string, Tick[]>(SYMBOLS.map((symbol) => [symbol, []]));
  private readonly prices = new Map<string, Map<number, string>>(SYMBOLS.map((symbol) => [symbol, new Map()]));
  readonly floor: number[] = [];
  window = { from: Infinity, to: -Infinity };
  private waiters: (() => void)[] = [];
  private readonly redis: Redis;

  constructor(private readonly prefix: string) {
    this.redis = new Redis(REDIS, { maxRetriesPerRequest: null });
    this.redis.on('message', (_channel: string, text: string) => {
      const now = Date.now();
      const message = JSON.parse(text) as { symbol: string; lastPrice: string; updatedAt: string };
      const at = Date.parse(message.updatedAt);
      this.ticks.get(message.symbol)?.push({ at, price: message.lastPrice });
      this.prices.get(message.symbol)?.set(at, message.lastPrice);
      if (at >= this.window.from && at < this.window.to) this.floor.push(now - at);
      for (const waiter of this.waiters) waiter();
    });
  }

  async start(): Promise<void> {
    await this.redis.subscribe(...SYMBOLS.map((symbol) => `${this.prefix}price:${symbol}`));
  }

  priceAt(symbol: string, at: number): string | undefined {
    return this.prices.get(symbol)?.get(at);
  }

  inWindow(symbol: string): Tick[] {
    return this.ticks.get(symbol)!.filter((tick) => tick.at >= this.window.from && tick.at < this.window.to);
  }

  /** Resolves once every symbol has a tick at or after `at` (so every earlier one has arrived: Redis keeps order). */
  async passed(at: number, timeoutMs: number): Promise<void> {
    const done = () => SYMBOLS.every((symbol) => (this.ticks.get(symbol)!.at(-1)?.at ?? -Infinity) >= at);
    if (done()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the feed published no tick after ${new Date(at).toISOString()} within ${timeoutMs} ms`)), timeoutMs);
      const waiter = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((other) => other !== waiter);
        resolve();
      };
      this.waiters.push(waiter);
    });
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

// ---------------------------------------------------------------- load generators

class Generator {
  readonly child: ChildProcess;
  connected = 0;
  private readonly listeners = new Set<(message: ChildMessage) => void>();

  constructor(setup: SubscribersSetup, cpu: number | undefined, logFile: string) {
    this.child = launch('bench/subscribers.ts', [JSON.stringify(setup)], {}, { cpu, logFile, ipc: true });
    this.child.on('message', (message: ChildMessage) => {
      if (message.type === 'progress') this.connected = message.connected;
      for (const listener of [...this.listeners]) listener(message);
    });
  }

  send(message: ParentMessage): void {
    this.child.send(message);
  }

  /** The next message of `type` (rejects if the process exits first or after `timeoutMs`). */
  next<T extends ChildMessage['type']>(type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => finish(new Error(`a load generator exited (${code}) while waiting for "${type}"`));
      const timer = setTimeout(() => finish(new Error(`a load generator sent no "${type}" within ${timeoutMs} ms`)), timeoutMs);
      const listener = (message: ChildMessage) => {
        if (message.type === type) finish(undefined, message as Extract<ChildMessage, { type: T }>);
      };
      const finish = (error?: Error, message?: Extract<ChildMessage, { type: T }>) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        this.child.off('exit', onExit);
        if (error) reject(error);
        else resolve(message!);
      };
      this.listeners.add(listener);
      this.child.once('exit', onExit);
    });
  }
}

// ---------------------------------------------------------------- one run

interface RunResult {
  mode: Mode;
  clients: number;
  connected: number;
  failed: number;
  firstError?: string;
  rampS: number;
  /** TcpExtListenOverflows during the ramp (whole machine): connections the server did not accept in time. */
  overflows: number;
  generators: number;
  ticksPerSecond: number;
  messages: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  floorP50: number;
  floorP99: number;
  ratioMean: number;
  ratioMin: number;
  ratioMax: number;
  /** Clients that got at least one price by the end. */
  subscribed: number;
  completeClients: number;
  latestClients: number;
  settleMs: number;
  settled: boolean;
  outOfOrder: number;
  errors: number;
  closed: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  peakMiB: number;
  perConnectionKiB: number;
  heapPerConnectionKiB: number;
  serverCpu: number;
  /** Busy share of each core over the window (all processes, kernel included). */
  coreBusy: number[];
  /** Cores busy (sum, in cores) before the clients connected, servers idle. */
  busyBefore: number;
  serverLoopP99: number;
  serverLoopMax: number;
  tradingCpu: number;
  generatorCpu: number[];
  generatorLoopP99: number[];
  fdLimit: number;
  gauges: Record<string, number>;
  logLines: number;
  /** Servers that crashed or exited uncleanly. */
  exits: string[];
}

function percentile(histogram: number[], total: number, p: number): number {
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let ms = 0; ms < histogram.length; ms++) {
    seen += histogram[ms]!;
    if (seen >= rank) return ms;
  }
  return histogram.length - 1;
}

function sortedPercentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

async function run(mode: Mode, clients: number, index: number, shared: { databaseUrl: string; prefix: string; logDir: string }): Promise<RunResult> {
  const ports = { router: ROUTER_PORT + index * 10, trading: TRADING_PORT + index * 10 };
  const serverCpu = PIN ? 0 : undefined;
  const otherCpu = PIN ? 1 : undefined;
  const logFile = (name: string) => path.join(shared.logDir, `${index}-${mode}-${clients}-${name}.log`);
  const started: ChildProcess[] = [];
  const generators: Generator[] = [];
  await waitForQuiet(`${mode} ${clients}`);
  const monitor = new FeedMonitor(shared.prefix);
  let result: RunResult | undefined;
  const exits: string[] = [];
  try {
    await monitor.start();
    const trading = launch(
      'subgraphs/trading/src/main.ts',
      [],
      {
        PORT: String(ports.trading),
        DATABASE_URL: shared.databaseUrl,
        REDIS_URL: REDIS,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        // Unused: the clients are anonymous.
        JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
        EVENTS_ENABLED: 'false',
        MARKET_FEED: 'paper',
        PAPER_TICK_MS: String(TICK_MS),
        PAPER_SEED: String(PAPER_SEED),
        PUBSUB_PREFIX: shared.prefix,
      },
      { cpu: mode === 'direct' ? serverCpu : otherCpu, logFile: logFile('trading'), profileDir: PROFILE.has('trading') ? shared.logDir : undefined },
    );
    started.push(trading);
    await waitFor('trading', () => healthy(ports.trading), 60_000);

    let server = trading;
    let url = `ws://127.0.0.1:${ports.trading}/graphql`;
    if (mode === 'router') {
      const supergraphPath = path.join(shared.logDir, `supergraph-${index}.graphql`);
      const sdl = printFederatedSdl(await buildTradingSchema());
      writeFileSync(supergraphPath, composeSupergraph([{ name: 'trading', url: `http://127.0.0.1:${ports.trading}/graphql`, sdl }]).supergraphSdl);
      server = launch(
        'router/src/main.ts',
        [],
        {
          PORT: String(ports.router),
          SUPERGRAPH_PATH: supergraphPath,
          SUPERGRAPH_WATCH: 'false',
          NODE_ENV: 'production',
          LOG_LEVEL: 'warn',
          JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
          REDIS_URL: REDIS,
        },
        { cpu: serverCpu, logFile: logFile('router'), profileDir: PROFILE.has('router') ? shared.logDir : undefined },
      );
      started.push(server);
      await waitFor('router', async () => (await fetch(`http://127.0.0.1:${ports.router}/ready`).catch(() => null))?.ok === true, 60_000);
      url = `ws://127.0.0.1:${ports.router}/graphql`;
    }
    await monitor.passed(Date.now(), 10_000);
    // How busy the machine is with the servers idle (the feed ticking): other work on it shows here.
    const idleFrom = coreTimes();
    await sleep(2_000);
    const busyBefore = coreBusy(idleFrom, coreTimes()).reduce((sum, busy) => sum + busy, 0);
    const serverPort = mode === 'router' ? ports.router : ports.trading;
    const rssBefore = await sampleRss(server.pid!);
    const heapBefore = (await gauges(serverPort)).nodejs_heap_size_used_bytes ?? NaN;
    const { fdLimit } = procStatus(server.pid!);
    if (fdLimit < clients + 256) console.warn(`[${mode} ${clients}] the server may open ${fdLimit} files: too few for ${clients} clients (raise ulimit -n)`);

    const generatorCount = Number(process.env.BENCH_GENERATORS ?? Math.max(2, Math.ceil(clients / PER_GENERATOR)));
    let firstIndex = 0;
    for (let generator = 0; generator < generatorCount; generator++) {
      const count = Math.floor(clients / generatorCount) + (generator < clients % generatorCount ? 1 : 0);
      const setup: SubscribersSetup = { url, count, firstIndex, symbols: SYMBOLS, batch: BATCH, batchTimeoutMs: BATCH_TIMEOUT_S * 1000, rampMs: RAMP_S * 1000, client: CLIENT };
      firstIndex += count;
      generators.push(new Generator(setup, otherCpu === undefined ? undefined : 1 + (generator % (os.cpus().length - 1)), logFile(`generator-${generator}`)));
    }
    started.push(...generators.map((generator) => generator.child));
    await Promise.all(generators.map((generator) => generator.next('started', 60_000)));

    console.log(`[${mode} ${clients}] connecting ${clients} clients through ${generatorCount} load generators to ${url}`);
    const rampStarted = Date.now();
    const overflowsBefore = listenOverflows();
    const progress = setInterval(() => {
      const connected = generators.reduce((sum, generator) => sum + generator.connected, 0);
      console.log(`[${mode} ${clients}]   ${connected} subscribed after ${((Date.now() - rampStarted) / 1000).toFixed(1)} s`);
    }, 5_000);
    const ramp = await Promise.all(
      generators.map((generator) => {
        const done = generator.next('connected', (RAMP_S + 3 * BATCH_TIMEOUT_S) * 1000 + Math.ceil(clients / BATCH) * 200 + 60_000);
        generator.send({ type: 'connect' });
        return done;
      }),
    ).finally(() => clearInterval(progress));
    const rampS = (Date.now() - rampStarted) / 1000;
    const overflows = listenOverflows() - overflowsBefore;
    const connected = ramp.reduce((sum, message) => sum + message.connected, 0);
    const failed = ramp.reduce((sum, message) => sum + message.failed, 0);
    const firstError = ramp.find((message) => message.firstError)?.firstError;
    console.log(`[${mode} ${clients}] ${connected} subscribed, ${failed} failed in ${rampS.toFixed(1)} s${firstError ? ` (first error: ${firstError})` : ''}`);

    // The window opens after a warm-up and is counted by tick time.
    const from = Date.now() + WARMUP_S * 1000;
    const to = from + WINDOW_S * 1000;
    monitor.window = { from, to };
    for (const generator of generators) generator.send({ type: 'window', from, to });
    await sleep(from - Date.now());
    const cpuFrom = { server: cpuSeconds(server.pid!), trading: cpuSeconds(trading.pid!), cores: coreTimes(), at: Date.now() };
    // Also resets the server's event-loop delay histogram (prom-client), so the reading at the end covers the window.
    const [rssAfter, counted] = await Promise.all([sampleRss(server.pid!), gauges(serverPort)]);
    console.log(`[${mode} ${clients}] measuring ${WINDOW_S} s (RSS ${(rssBefore / 1024).toFixed(0)} → ${(rssAfter / 1024).toFixed(0)} MiB)`);
    await sleep(to - Date.now());
    const wall = (Date.now() - cpuFrom.at) / 1000;
    const cpu = {
      server: (cpuSeconds(server.pid!) - cpuFrom.server) / wall,
      trading: (cpuSeconds(trading.pid!) - cpuFrom.trading) / wall,
      cores: coreBusy(cpuFrom.cores, coreTimes()),
    };
    const atEnd = await gauges(serverPort);

    // The feed's last price of the window per symbol; then every client should reach it (or a newer one).
    await monitor.passed(to, 30_000);
    const targets: Record<string, number> = {};
    for (const symbol of SYMBOLS) targets[symbol] = monitor.inWindow(symbol).at(-1)?.at ?? to;
    const reports = await Promise.all(
      generators.map((generator) => {
        const report = generator.next('report', SETTLE_S * 1000 + 60_000);
        generator.send({ type: 'settle', targets, timeoutMs: SETTLE_S * 1000 });
        return report;
      }),
    ).then((messages) => messages.map((message) => message.report));
    const peak = procStatus(server.pid!).hwmKiB;
    result = summarize({ mode, clients, reports, monitor, targets, connected, failed, firstError, rampS, overflows, generators: generatorCount, rssBefore, rssAfter, heapBefore, peak, cpu, fdLimit, counted, atEnd, busyBefore });
  } finally {
    for (const generator of generators) if (generator.child.connected) generator.send({ type: 'close' });
    await stop(generators.map((generator) => generator.child), 5_000);
    const servers = started.filter((child) => !generators.some((generator) => generator.child === child));
    // A server that died before it was told to stop, or did not stop cleanly, is reported.
    servers.forEach((child, at) => {
      const name = at === 0 ? 'trading' : 'router';
      if (child.exitCode !== null || child.signalCode !== null) exits.push(`${name} had exited by itself (${child.exitCode ?? child.signalCode})`);
      else child.once('exit', (code, signal) => code !== 0 && exits.push(`${name} exited with ${code ?? signal} when stopped`));
    });
    await stop(servers);
    await monitor.close();
  }
  result!.exits = exits;
  return result!;
}

function summarize(input: {
  mode: Mode;
  clients: number;
  reports: SubscribersReport[];
  monitor: FeedMonitor;
  targets: Record<string, number>;
  connected: number;
  failed: number;
  firstError?: string;
  rampS: number;
  overflows: number;
  generators: number;
  rssBefore: number;
  rssAfter: number;
  heapBefore: number;
  peak: number;
  cpu: { server: number; trading: number; cores: number[] };
  fdLimit: number;
  counted: Record<string, number>;
  atEnd: Record<string, number>;
  busyBefore: number;
}): RunResult {
  const { reports, monitor, targets } = input;
  const histogram = new Array<number>(reports[0]!.histogram.length).fill(0);
  for (const report of reports) report.histogram.forEach((count, ms) => (histogram[ms]! += count));
  const messages = histogram.reduce((sum, count) => sum + count, 0);
  let max = 0;
  histogram.forEach((count, ms) => {
    if (count > 0) max = ms;
  });
  const expected = SYMBOLS.map((symbol) => monitor.inWindow(symbol).length);
  // Delivered and latest are over the subscribed clients (those that got any price); failures are counted apart.
  const ratios: number[] = [];
  let complete = 0;
  let latest = 0;
  for (const report of reports) {
    report.windowCounts.forEach((count, client) => {
      if (!report.subscribed[client]) return;
      const symbol = report.symbolOf[client]!;
      ratios.push(count / Math.max(1, expected[symbol]!));
      if (count >= expected[symbol]!) complete += 1;
      const lastTick = report.lastTick[client]!;
      // The latest price: the window's last tick or a newer one, and the very price the feed published at that tick.
      if (lastTick >= targets[SYMBOLS[symbol]!]! && report.lastPrice[client] === monitor.priceAt(SYMBOLS[symbol]!, lastTick)) latest += 1;
    });
  }
  const subscribed = ratios.length;
  const floor = [...monitor.floor].sort((a, b) => a - b);
  return {
    mode: input.mode,
    clients: input.clients,
    connected: input.connected,
    failed: input.failed,
    firstError: input.firstError,
    rampS: input.rampS,
    overflows: input.overflows,
    generators: input.generators,
    ticksPerSecond: expected.reduce((sum, count) => sum + count, 0) / SYMBOLS.length / WINDOW_S,
    messages,
    p50: percentile(histogram, messages, 50),
    p90: percentile(histogram, messages, 90),
    p99: percentile(histogram, messages, 99),
    max,
    floorP50: sortedPercentile(floor, 50),
    floorP99: sortedPercentile(floor, 99),
    ratioMean: ratios.reduce((sum, ratio) => sum + ratio, 0) / Math.max(1, ratios.length),
    ratioMin: ratios.length > 0 ? Math.min(...ratios) : 0,
    ratioMax: ratios.length > 0 ? Math.max(...ratios) : 0,
    subscribed,
    completeClients: complete,
    latestClients: latest,
    settleMs: Math.max(...reports.map((report) => report.settleMs)),
    settled: reports.every((report) => report.settled),
    outOfOrder: reports.reduce((sum, report) => sum + report.outOfOrder, 0),
    errors: reports.reduce((sum, report) => sum + report.errors, 0),
    closed: reports.reduce((sum, report) => sum + report.closed, 0),
    rssBeforeMiB: input.rssBefore / 1024,
    rssAfterMiB: input.rssAfter / 1024,
    peakMiB: input.peak / 1024,
    perConnectionKiB: (input.rssAfter - input.rssBefore) / Math.max(1, input.connected),
    heapPerConnectionKiB: ((input.counted.nodejs_heap_size_used_bytes ?? NaN) - input.heapBefore) / 1024 / Math.max(1, input.connected),
    serverCpu: input.cpu.server,
    coreBusy: input.cpu.cores,
    busyBefore: input.busyBefore,
    // prom-client samples every 10 ms: the lag is what exceeds that.
    serverLoopP99: Math.max(0, (input.atEnd.nodejs_eventloop_lag_p99_seconds ?? NaN) * 1000 - 10),
    serverLoopMax: Math.max(0, (input.atEnd.nodejs_eventloop_lag_max_seconds ?? NaN) * 1000 - 10),
    tradingCpu: input.cpu.trading,
    generatorCpu: reports.map((report) => report.cpu),
    generatorLoopP99: reports.map((report) => report.loopDelayP99),
    fdLimit: input.fdLimit,
    gauges: input.counted,
    logLines: 0,
    exits: [],
  };
}

// ---------------------------------------------------------------- main

function countLogLines(logDir: string, index: number, mode: Mode, clients: number): number {
  let lines = 0;
  for (const name of ['router', 'trading']) {
    try {
      lines += readFileSync(path.join(logDir, `${index}-${mode}-${clients}-${name}.log`), 'utf8').split('\n').filter((line) => line.trim() !== '').length;
    } catch {
      // no such process in this mode
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const databaseUrl = `${POSTGRES}/mercado_bench_subscriptions_trading`;
  const prefix = `bench-subscriptions-${randomBytes(4).toString('hex')}:`;
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'mercado-bench-subscriptions-'));
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await stop([...children], 10_000);
    if (!process.env.BENCH_KEEP_DATABASES) await dropDatabase(databaseUrl).catch(() => undefined);
    if (!process.env.BENCH_KEEP_LOGS) rmSync(logDir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`${signal}: stopping everything the bench started`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  const results: RunResult[] = [];
  try {
    await dropDatabase(databaseUrl);
    await SUBGRAPH_PROCESSES.find((subgraph) => subgraph.name === 'trading')!.seed(databaseUrl, []);
    let index = 0;
    for (const clients of COUNTS) {
      for (const mode of MODES) {
        // A run other work disturbed is run again (BENCH_RETRIES times at most); the last one is reported.
        for (let attempt = 0; ; attempt++) {
          const result = await run(mode, clients, index, { databaseUrl, prefix, logDir });
          result.logLines = countLogLines(logDir, index, mode, clients);
          index += 1;
          console.log(`[${mode} ${clients}] ${JSON.stringify(result)}`);
          if (!disturbed(result) || attempt >= RETRIES) {
            results.push(result);
            break;
          }
          console.log(`[${mode} ${clients}] other work on the machine disturbed this run; running it again`);
        }
      }
    }
  } finally {
    if (results.length > 0 && process.env.BENCH_KEEP_LOGS) console.log(`logs kept in ${logDir}`);
    await cleanup();
  }

  const pct = (value: number) => `${(value * 100).toFixed(1)} %`;
  // n/a: the server did not answer /metrics in time.
  const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
  const lines = [
    `${COUNTS.join(', ')} concurrent graphql-ws clients (${CLIENT === 'lean' ? 'graphql-transport-ws spoken directly on `ws`, not through graphql-ws’s client' : 'real `graphql-ws` client on `ws`'}, one load-generator process per ${PER_GENERATOR} clients and at least 2, ramped ${BATCH} per generator at a time) each subscribed to \`priceUpdated(symbols: [one of ${SYMBOLS.join(', ')}]) { symbol lastPrice updatedAt }\`; paper feed PAPER_TICK_MS=${TICK_MS} (10 ticks/s per symbol), PAPER_SEED=${PAPER_SEED}. "router": clients on one router process (shared upstream, conflated per client); "direct": clients on the trading subgraph's /graphql. ${PIN ? 'The server the clients talk to is pinned to core 0, the load generators (and trading in the router run) to core 1' : 'No CPU pinning'}. Window ${WINDOW_S} s after a ${WARMUP_S} s warm-up, counted by tick time.`,
    '',
    'Latency = receive time − `updatedAt` (the paper tick\'s own timestamp; same clock, ms resolution) over every message of the window. Delivered = messages received / ticks the feed published for the client\'s symbol in the window (mean, min–max, clients with all), over the clients that subscribed (got any price). Latest = subscribed clients whose last received tick is the window\'s last tick or newer with exactly the price the feed published for it, after waiting for arrivals up to ' +
      `${SETTLE_S} s. Floor = tick → a plain Redis subscriber (the bench). Memory: server VmRSS after all clients subscribed minus before, per client.`,
    '',
    '| mode | clients | subscribed | ramp s | feed ticks/s/symbol | messages | p50 ms | p90 ms | p99 ms | max ms | floor p50/p99 ms | delivered mean (min–max) | all ticks | latest price | settle ms | RSS before → after MiB | KiB/conn | server CPU (loop lag p99/max ms) | core 0 / core 1 busy | load-gen CPU (loop lag p99 ms) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.mode}${disturbed(r) ? ' ⚠' : ''} | ${r.clients} | ${r.subscribed}${r.subscribed < r.clients ? ` (${r.clients - r.subscribed} never got a price)` : ''} | ${r.rampS.toFixed(1)} | ${r.ticksPerSecond.toFixed(2)} | ${r.messages} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.max} | ${r.floorP50}/${r.floorP99} | ${pct(r.ratioMean)} (${pct(r.ratioMin)}–${pct(r.ratioMax)}) | ${pct(r.completeClients / Math.max(1, r.subscribed))} | ${pct(r.latestClients / Math.max(1, r.subscribed))} | ${r.settled ? r.settleMs : `>${r.settleMs}`} | ${r.rssBeforeMiB.toFixed(0)} → ${r.rssAfterMiB.toFixed(0)} | ${r.perConnectionKiB.toFixed(1)} | ${pct(r.serverCpu)} (${fixed(r.serverLoopP99, 0)}/${fixed(r.serverLoopMax, 0)}) | ${r.coreBusy.map(pct).join(' / ')} | ${r.generatorCpu.map((cpu, i) => `${pct(cpu)} (${r.generatorLoopP99[i]!.toFixed(0)})`).join(', ')} |`,
    ),
    '',
    ...results.map(
      (r) =>
        `- ${r.mode} ${r.clients}: ${r.connected} subscribed by the end of the ramp, ${r.overflows} listen-queue overflows (TcpExtListenOverflows) during it; ${r.outOfOrder} out-of-order, ${r.errors} error results, ${r.closed} sockets closed early; server fd limit ${r.fdLimit}; server JS heap used ${fixed(r.heapPerConnectionKiB, 1)} KiB per client; machine busy before the clients connected ${pct(r.busyBefore)} of a core, and during the window outside the bench's processes (loopback TCP softirq, anything else running) ≈${pct(Math.max(0, other(r)))}; ${r.logLines} warn/error log lines from the bench's router and trading processes${r.mode === 'router' ? `; trading CPU ${pct(r.tradingCpu)}; router gauges ${JSON.stringify(Object.fromEntries(Object.entries(r.gauges).filter(([name]) => name.startsWith('router_'))))}` : ''}${r.firstError ? `; first client error: ${r.firstError}` : ''}${r.exits.length > 0 ? `; ${r.exits.join('; ')}` : ''}.`,
    ),
    ...(results.some(disturbed)
      ? ['', `⚠ Other work on the machine took more than ${DISTURBED_CORES * 100} % of a core during the run (or before it): its figures are not representative.`]
      : []),
    '',
    ...results
      .filter((r) => r.mode === 'router')
      .map((r) => {
        const met = r.p99 < TARGET_P99_MS && r.latestClients === r.clients;
        const scale = r.clients >= 5000 ? '' : ' (below the 5,000 clients the target asks for)';
        return `Target through the router, p99 under ${TARGET_P99_MS} ms with every client on the latest price, at ${r.clients} clients${scale}: ${met ? 'met' : 'not met'} (p99 ${r.p99} ms; latest price at ${r.latestClients} of ${r.clients} clients).`;
      }),
  ];
  console.log(lines.join('\n'));
  appendResults('bench:subscriptions', lines);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
