import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { Queue } from 'bullmq';
import { bullConnection, createRedisClient } from '../../kit/src/events';
import { cleanupRedis, REDIS_URL, testPrefix } from '../../kit/src/events/testing';
import type { ChartCandle } from '../src/screenshots/chart-data';
import { createScreenshotService, type CandleSource, type ScreenshotService, type ScreenshotServiceOptions } from '../src/screenshots/screenshot.service';
import { alive, deferred, descendants, eventually, jobData, ResultLog, serveRoutes, silentLog } from './support/screenshots';

jest.setTimeout(60_000);

const SECRET = 'screenshots-failures-secret-0123456789abcdef';
const HOUR = 3_600_000;

/** Hourly candles around now, a gentle zigzag. */
function hourlyCandles(): ChartCandle[] {
  const end = Math.floor(Date.now() / HOUR) * HOUR;
  return Array.from({ length: 120 }, (_, i) => {
    const open = 100 + ((i * 7) % 13);
    const close = 100 + (((i + 1) * 7) % 13);
    return { time: (end - (100 - i) * HOUR) / 1000, open: `${open}`, high: `${Math.max(open, close) + 2}`, low: `${Math.min(open, close) - 2}`, close: `${close}`, volume: '10' };
  });
}

describe('signal screenshots: failures, timeouts, crashes, shutdown', () => {
  const prefix = testPrefix('screenshots-failures');
  const candles = hourlyCandles();
  const results = new ResultLog();
  /** Chart pages of HOLD/USDT wait on `hold` (until released); `held` resolves when one is waiting. */
  let hold = deferred();
  let held = deferred();
  const source: CandleSource = {
    async candles(symbol, _timeframe, from, to) {
      if (symbol === 'HOLD/USDT') {
        held.resolve();
        await hold.promise;
      }
      return candles.filter((candle) => candle.time * 1000 >= from.getTime() && candle.time * 1000 < to.getTime());
    },
  };
  let dir: string;
  let routes: { baseUrl: string; close(): Promise<void> };
  let routesOnly: ScreenshotService;
  const services: ScreenshotService[] = [];

  const start = (overrides: Partial<ScreenshotServiceOptions>): ScreenshotService => {
    const service = createScreenshotService({
      redis: REDIS_URL,
      prefix,
      dir,
      publicBaseUrl: routes.baseUrl,
      urlSecret: SECRET,
      chartBaseUrl: () => routes.baseUrl,
      candles: source,
      onResult: results.onResult,
      backoffMs: 50,
      log: silentLog,
      ...overrides,
    });
    services.push(service);
    service.startWorkers();
    return service;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'signal-screenshots-failures-'));
    routes = await serveRoutes(() => routesOnly.routes);
    // Serves the chart pages every service below sends Chromium to (same secret, same candles); runs no worker.
    routesOnly = createScreenshotService({ redis: REDIS_URL, prefix, dir, publicBaseUrl: routes.baseUrl, urlSecret: SECRET, chartBaseUrl: () => routes.baseUrl, candles: source, log: silentLog });
  });

  afterAll(async () => {
    hold.resolve();
    await Promise.all([routesOnly, ...services].map((service) => service?.close()));
    await routes?.close();
    await cleanupRedis(prefix, []);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('retries a failing render with exponential backoff, then reports FAILED after the last attempt', async () => {
    const attemptsAt: number[] = [];
    const broken = http.createServer((req, res) => {
      // Chromium asks for /favicon.ico as well.
      if (req.url?.startsWith('/charts/')) attemptsAt.push(Date.now());
      res.writeHead(500).end('broken');
    });
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    try {
      const registry = new Registry();
      const service = start({
        queueName: 'screenshots-broken',
        chartBaseUrl: () => `http://127.0.0.1:${(broken.address() as AddressInfo).port}`,
        backoffMs: 100,
        metrics: registry,
      });
      const job = jobData();
      await service.enqueue(job);
      const result = await results.next(job.signalId);

      expect(result).toEqual({ signalId: job.signalId, userId: 'user-1', status: 'FAILED', error: 'chart page answered HTTP 500', attempts: 3 });
      expect(attemptsAt).toHaveLength(3);
      // Exponential backoff: at least 100 ms, then at least 200 ms between attempts.
      expect(attemptsAt[1]! - attemptsAt[0]!).toBeGreaterThanOrEqual(100);
      expect(attemptsAt[2]! - attemptsAt[1]!).toBeGreaterThanOrEqual(200);
      await eventually(async () => (await service.stats()).failed === 1, 'the job in the failed set');
      const outcomes = (await registry.getSingleMetric('signal_screenshots_total')!.get()).values;
      expect(outcomes.map(({ labels, value }) => ({ ...labels, value }))).toEqual(
        expect.arrayContaining([
          { source: 'none', outcome: 'retry', value: 2 },
          { source: 'none', outcome: 'failed', value: 1 },
        ]),
      );
      expect(results.results.filter((each) => each.signalId === job.signalId)).toHaveLength(1);
    } finally {
      await new Promise<void>((resolve) => broken.close(() => resolve()));
    }
  });

  it('fails an attempt that outlives the job timeout and closes its page; the next job runs', async () => {
    hold = deferred();
    held = deferred();
    let reached = false;
    void held.promise.then(() => {
      reached = true;
    });
    const service = start({ queueName: 'screenshots-timeout', jobTimeoutMs: 3_000, attempts: 1 });
    // The timeout covers the whole attempt, browser start included: start it first.
    const warmup = jobData({ symbol: 'ETH/USDT' });
    await service.enqueue(warmup);
    expect(await results.next(warmup.signalId)).toMatchObject({ status: 'READY' });

    const stuck = jobData({ symbol: 'HOLD/USDT' });
    await service.enqueue(stuck);
    const result = await results.next(stuck.signalId);
    expect(reached).toBe(true);
    expect(result).toMatchObject({ status: 'FAILED', error: 'screenshot timed out after 3000 ms', attempts: 1 });
    // The page was closed before the failure was reported.
    expect((await service.stats()).pages).toBe(0);
    hold.resolve();

    const next = jobData({ symbol: 'ETH/USDT' });
    await service.enqueue(next);
    expect(await results.next(next.signalId)).toMatchObject({ status: 'READY', source: 'chart', attempts: 1 });
  });

  it('replaces a browser killed mid-screenshot: the interrupted job retries and later jobs succeed', async () => {
    hold = deferred();
    held = deferred();
    const registry = new Registry();
    const service = start({ queueName: 'screenshots-crash', metrics: registry });
    const interrupted = jobData({ symbol: 'HOLD/USDT' });
    await service.enqueue(interrupted);
    await held.promise;
    const [killed] = service.browserPids();
    process.kill(killed!, 'SIGKILL');
    hold.resolve();

    expect(await results.next(interrupted.signalId)).toMatchObject({ status: 'READY', source: 'chart', attempts: 2 });
    const next = jobData({ symbol: 'ETH/USDT' });
    await service.enqueue(next);
    expect(await results.next(next.signalId)).toMatchObject({ status: 'READY', attempts: 1 });
    expect(service.browserPids()).toHaveLength(1);
    expect(service.browserPids()).not.toContain(killed);
    expect(alive(killed!)).toBe(false);
    const restarts = (await registry.getSingleMetric('signal_screenshot_browser_restarts_total')!.get()).values;
    expect(restarts).toEqual([expect.objectContaining({ labels: { reason: 'crash' }, value: 1 })]);
  });

  it('replaces a browser after its page budget', async () => {
    const service = start({ queueName: 'screenshots-budget', concurrency: 1, browser: { pagesPerBrowser: 2 } });
    const pidsAfter: number[][] = [];
    for (let i = 0; i < 3; i += 1) {
      const job = jobData({ symbol: 'ETH/USDT' });
      await service.enqueue(job);
      expect(await results.next(job.signalId)).toMatchObject({ status: 'READY' });
      pidsAfter.push(service.browserPids());
    }
    const [first] = pidsAfter[0]!;
    const [replacement] = pidsAfter[2]!;
    expect(pidsAfter[2]).toHaveLength(1);
    expect(replacement).not.toBe(first);
    await eventually(() => !alive(first!), 'the retired browser to exit');
  });

  it('keeps working after its Redis connections are dropped', async () => {
    const service = start({ queueName: 'screenshots-redis' });
    const warmup = jobData({ symbol: 'ETH/USDT' });
    await service.enqueue(warmup);
    await results.next(warmup.signalId);

    const admin = createRedisClient(REDIS_URL);
    try {
      const clients = ((await admin.client('LIST')) as string).split('\n').filter((line) => line.includes(` name=${prefix}:`));
      expect(clients.length).toBeGreaterThan(0);
      for (const line of clients) await admin.client('KILL', 'ID', /(?:^| )id=(\d+)/.exec(line)![1]!);
    } finally {
      await admin.quit();
    }
    const after = jobData({ symbol: 'ETH/USDT' });
    await service.enqueue(after);
    expect(await results.next(after.signalId)).toMatchObject({ status: 'READY', attempts: 1 });
  });

  it('close() ends every Chromium process it started, even with a screenshot still running', async () => {
    hold = deferred();
    held = deferred();
    const service = start({ queueName: 'screenshots-close', closeGraceMs: 200 });
    const running = jobData({ symbol: 'HOLD/USDT' });
    await service.enqueue(running);
    await held.promise;
    const [browser] = service.browserPids();
    const processes = [browser!, ...descendants(browser!)];
    // The browser, its zygotes and at least one renderer.
    expect(processes.length).toBeGreaterThanOrEqual(3);

    await service.close();
    hold.resolve();
    expect(service.browserPids()).toEqual([]);
    // Killed processes leave the process table asynchronously; wait for it, bounded.
    await eventually(() => processes.filter(alive).length === 0, 'every Chromium process to exit');
    expect(processes.filter(alive)).toEqual([]);
    // The interrupted screenshot went back to the queue for another worker, its attempts untouched.
    const queue = new Queue('screenshots-close', { connection: bullConnection(REDIS_URL), prefix });
    try {
      const job = (await queue.getJob(running.signalId))!;
      expect(await job.getState()).toBe('delayed');
      expect(job.attemptsMade).toBe(0);
    } finally {
      await queue.close();
    }
    expect(results.results.find((result) => result.signalId === running.signalId)).toBeUndefined();
  });
});
