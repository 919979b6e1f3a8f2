import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job, type KeepJobs } from 'bullmq';
import { Registry } from 'prom-client';
import { AppError, badInput, createBatcher, reportQueueDepth, sendJson, type Logger, type Route } from '../../../kit/src';
import { bullConnection, createErrorReporter, LazyQueue, type RedisTarget } from '../../../kit/src/events';
import { inJobSpan, traced, type TracedJobData, type Tracing } from '../../../kit/src/tracing';
import { BrowserPool, type BrowserPoolOptions } from './browser-pool';
import type { CandleSource } from './chart-data';
import { chartPageUrl, chartRoutes, SIGNAL_ID_PATTERN } from './chart.page';
import { pngSize } from './png';
import { captureChart, captureTradingView, TradingViewRefused, type TradingViewOptions, type Viewport } from './screenshot.capture';
import { screenshotMetrics } from './screenshot.metrics';
import { expiresIn, UrlSigner } from './signed-url';

export type { CandleSource } from './chart-data';
export { createTradingCandleSource } from './chart-data';

/** Carries the trace of the request that received the alert: the screenshot, and its SignalScreenshotReady, continue it. */
export interface ScreenshotJobData extends TracedJobData {
  signalId: string;
  userId: string;
  plan: 'free' | 'pro' | 'premium';
  symbol: string;
  exchange: string | null;
  timeframe: string | null;
  price: string | null;
  action: string;
  /** ISO time the signal arrived; the chart is centred on its candle. */
  receivedAt: string;
  chartId: string | null;
  takeProfit: string | null;
  stopLoss: string | null;
  /** The user's TradingView chart and sealed session cookies: shot instead of our chart when the service has `tradingView`. */
  tradingView?: { chartId: string; sealedCookies: string } | null;
}

/** What the PNG shows: our candle chart, our placeholder (no market data), or the user's TradingView chart. */
export type ScreenshotSource = 'chart' | 'placeholder' | 'tradingview';

export interface ScreenshotResult {
  signalId: string;
  userId: string;
  status: 'READY' | 'FAILED';
  /** The PNG's name in the screenshot directory (`<signalId>.png`); give it to `signedUrl`. */
  file?: string;
  width?: number;
  height?: number;
  bytes?: number;
  source?: ScreenshotSource;
  error?: string;
  /** Attempts made, this one included. */
  attempts: number;
}

/** A job's return value: its result, or DISCARDED when its signal no longer exists (its user was erased) and no PNG is kept. */
export type ScreenshotJobOutcome = ScreenshotResult | { signalId: string; status: 'DISCARDED'; attempts: number };

export interface ScreenshotStats {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  prioritized: number;
  /** Workers on the queue, in every process. */
  workers: number;
  /** Chromium browsers running in this process, and pages open in them. */
  browsers: number;
  pages: number;
}

export interface ScreenshotServiceOptions {
  redis: RedisTarget;
  /** BullMQ key prefix (tests use their own). Default BullMQ's. */
  prefix?: string;
  /** Default SCREENSHOT_QUEUE. */
  queueName?: string;
  /** Screenshots taken at once by this process's worker. Default 2. */
  concurrency?: number;
  /** Default 3. */
  attempts?: number;
  /** First retry delay; doubles with each retry. Default 2 s. */
  backoffMs?: number;
  /** One attempt longer than this fails (its page is closed). Default 30 s. */
  jobTimeoutMs?: number;
  /** Completed jobs kept (so a repeated enqueue of the same signal is still recognised). Default a day, at most 10 000. */
  removeOnComplete?: boolean | number | KeepJobs;
  /** Failed jobs kept for inspection and replay. Default a week. */
  removeOnFail?: boolean | number | KeepJobs;
  /** Where PNGs are written, as `<signalId>.png`. */
  dir: string;
  /** Default 1280×720. */
  viewport?: Viewport;
  /** This server as clients reach it; signed PNG URLs are `<publicBaseUrl>/screenshots/<file>?expires=&signature=`. */
  publicBaseUrl: string;
  /** Signs PNG URLs and chart page URLs (at least 32 bytes). */
  urlSecret: string;
  /** Default lifetime of a signed PNG URL. Default an hour. */
  urlTtlSeconds?: number;
  /** This server as its own Chromium reaches it (a function: the port is known only once it listens). */
  chartBaseUrl: () => string;
  candles: CandleSource;
  /** The chart page waits this long for candles before drawing a placeholder. Default 5 s. */
  candleTimeoutMs?: number;
  /** Called once a screenshot is written, and once a job has failed its last attempt. A failure of a READY delivery retries the job. */
  onResult?: (result: ScreenshotResult) => Promise<void> | void;
  /**
   * Whether the signal still exists, asked before a shot and after its result is delivered: a job
   * of an erased signal ends without a shot, and a PNG written while its signal was erased is
   * removed again (the erasure may have looked for it before it was written).
   */
  exists?: (signalId: string) => Promise<boolean>;
  browser?: BrowserPoolOptions;
  /** Shoots the user's own TradingView chart for jobs that carry one. */
  tradingView?: TradingViewOptions;
  /** close() lets running screenshots finish this long, then cancels them. Default 5 s (runService exits after 15 s). */
  closeGraceMs?: number;
  metrics?: Registry;
  /** Each job a CONSUMER span (process screenshot) in the trace that queued it. */
  tracing?: Tracing;
  log: Logger;
}

export interface ScreenshotService {
  /** Queues a screenshot; one job per signal id (a repeat is ignored), premium first, then pro, then free. */
  enqueue(data: ScreenshotJobData): Promise<void>;
  /** The chart page, its script bundle and signed PNGs; the subgraph server serves them. */
  routes: Route[];
  /** The chart page and its script bundle alone: what Chromium loads from a `--workers-only` process. */
  chartRoutes: Route[];
  /** A signed, expiring URL of a PNG (`ScreenshotResult.file`). */
  signedUrl(file: string, ttlSeconds?: number): string;
  stats(): Promise<ScreenshotStats>;
  /** PIDs of this process's Chromium browsers (for operators and tests). */
  browserPids(): number[];
  /** Forgets the screenshots of erased signals: removes their PNGs (gone already is fine) and their jobs unless running (see `exists`). */
  discard(signalIds: readonly string[]): Promise<void>;
  /** Starts this process's worker (an API-only replica does not). */
  startWorkers(): void;
  /** Reports the queue's jobs per state on `registry` (`bullmq_queue_jobs`): the backlog that scaling screenshot workers reads. */
  reportQueueDepthOn(registry: Registry): void;
  /** Closes the worker (letting running screenshots finish), the queue and every browser. */
  close(): Promise<void>;
}

export const SCREENSHOT_QUEUE = 'signals-screenshots';
export const SCREENSHOT_JOB = 'screenshot';
/** BullMQ runs lower priorities first. */
export const PLAN_PRIORITY: Record<ScreenshotJobData['plan'], number> = { premium: 1, pro: 2, free: 3 };
export const DEFAULT_VIEWPORT: Viewport = { width: 1280, height: 720 };
const FILE_PATTERN = /^[A-Za-z0-9_-]{1,128}\.png$/;
const FILE_PATH = /^\/screenshots\/([A-Za-z0-9_-]{1,128}\.png)$/;
/** Signals whose PNGs and jobs `discard` removes at once. */
const DISCARD_CHUNK = 100;

async function inChunks(ids: readonly string[], work: (id: string) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < ids.length; start += DISCARD_CHUNK) await Promise.all(ids.slice(start, start + DISCARD_CHUNK).map(work));
}

type ScreenshotJob = Job<ScreenshotJobData, ScreenshotJobOutcome>;

/** The PNG of a signal in the screenshot directory. */
export const screenshotFile = (signalId: string): string => `${signalId}.png`;

/** Writes to a temporary file next to `file`, then renames it: readers never see half a PNG. */
async function writeAtomically(file: string, data: Uint8Array): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, data);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * `work`, unless `signal` aborts first: then waits (at most `settleMs`) for `work` to wind down,
 * so the attempt's page is closed before the attempt is reported failed, and rejects with the reason.
 */
async function unlessAborted<T>(work: Promise<T>, signal: AbortSignal, settleMs: number): Promise<T> {
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } catch (error) {
    if (!signal.aborted) throw error;
    await Promise.race([work.catch(() => undefined), delay(settleMs, undefined, { ref: false })]);
    throw signal.reason;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Signal screenshots: a BullMQ queue (job id = signal id, priority by plan, retries with
 * exponential backoff), a worker that draws each signal's chart in a reused Chromium (or shoots
 * the user's TradingView chart) and writes `<dir>/<signalId>.png`, and the routes that serve the
 * chart page and signed PNG URLs.
 *
 * Market data: when the trading subgraph is unreachable the attempt is retried; the last attempt
 * keeps a placeholder chart (the signal's action, prices and time, "market data unavailable"),
 * so every signal with a symbol gets a picture. A market without candles gets the placeholder at once.
 */
export function createScreenshotService(options: ScreenshotServiceOptions): ScreenshotService {
  const queueName = options.queueName ?? SCREENSHOT_QUEUE;
  const log = options.log.child({ component: 'signal-screenshots', queue: queueName });
  const attempts = options.attempts ?? 3;
  const jobTimeoutMs = options.jobTimeoutMs ?? 30_000;
  const viewport = options.viewport ?? DEFAULT_VIEWPORT;
  const urlTtlSeconds = options.urlTtlSeconds ?? 3_600;
  const closeGraceMs = options.closeGraceMs ?? 5_000;
  const publicBaseUrl = options.publicBaseUrl.replace(/\/+$/, '');
  const signer = new UrlSigner(options.urlSecret);
  const metrics = screenshotMetrics(options.metrics ?? new Registry());
  const pool = new BrowserPool(options.browser ?? {}, { log, onRestart: (reason) => metrics.browserRestarts.inc({ reason }) });
  const jobOptions = {
    attempts,
    backoff: { type: 'exponential', delay: options.backoffMs ?? 2_000 },
    removeOnComplete: options.removeOnComplete ?? { age: 24 * 3600, count: 10_000 },
    removeOnFail: options.removeOnFail ?? { age: 7 * 24 * 3600 },
  };

  const producer = new LazyQueue<ScreenshotJobData, ScreenshotJobOutcome>(queueName, { redis: options.redis, prefix: options.prefix, log });
  let worker: Worker<ScreenshotJobData, ScreenshotJobOutcome> | undefined;
  let directory: Promise<unknown> | undefined;
  let closing: Promise<void> | undefined;

  /** The producer side opens its connection on first use; commands fail fast (5 s) while Redis is away. */
  function queue(): Queue<ScreenshotJobData, ScreenshotJobOutcome> {
    if (closing) throw new Error('screenshot service is closed');
    return producer.get();
  }
  let stopReporting: (() => void) | undefined;

  // Jobs gather for 20 ms and go to Redis in one MULTI: a screenshot takes seconds, and a write to
  // Redis per alert cost more than the rest of the enqueue.
  const enqueues = createBatcher<ScreenshotJobData, void>(
    async (items) => {
      await queue().addBulk(
        items.map((data) => ({ name: SCREENSHOT_JOB, data, opts: { ...jobOptions, jobId: data.signalId, priority: PLAN_PRIORITY[data.plan] ?? PLAN_PRIORITY.free } })),
      );
      return items.map(() => undefined);
    },
    { maxBatchSize: 100, maxInFlight: 2, windowMs: 20 },
  );

  async function shoot(data: ScreenshotJobData, final: boolean, signal: AbortSignal): Promise<{ png: Uint8Array; source: ScreenshotSource }> {
    const tradingView = options.tradingView;
    if (data.tradingView && tradingView) {
      const chart = { ...data.tradingView, userId: data.userId };
      try {
        const png = await pool.withPage((page, context) => captureTradingView(page, context, tradingView, chart, viewport, jobTimeoutMs), signal);
        return { png, source: 'tradingview' };
      } catch (error) {
        if (signal.aborted || (!(error instanceof TradingViewRefused) && !final)) throw error;
        log.warn({ err: error, signalId: data.signalId }, 'TradingView chart not captured; drawing our own chart instead');
      }
    }
    const chartSignal = {
      signalId: data.signalId,
      symbol: data.symbol,
      exchange: data.exchange,
      timeframe: data.timeframe,
      price: data.price,
      action: data.action,
      receivedAt: data.receivedAt,
      takeProfit: data.takeProfit,
      stopLoss: data.stopLoss,
    };
    const url = chartPageUrl(options.chartBaseUrl(), signer, chartSignal, Math.ceil(jobTimeoutMs / 1000) + 60);
    const { png, status } = await pool.withPage((page) => captureChart(page, url, viewport, jobTimeoutMs), signal);
    if (status === 'unavailable' && !final) throw new AppError('UPSTREAM_UNAVAILABLE', 'market data unavailable; the chart is retried');
    return { png, source: status === 'ok' ? 'chart' : 'placeholder' };
  }

  async function deliver(result: ScreenshotResult): Promise<void> {
    try {
      await options.onResult?.(result);
    } catch (error) {
      log.error({ err: error, signalId: result.signalId }, 'screenshot failure could not be recorded');
    }
  }

  async function processJob(job: ScreenshotJob, token?: string, cancel?: AbortSignal): Promise<ScreenshotJobOutcome> {
    const { signalId, userId } = job.data;
    const attempt = job.attemptsMade + 1;
    const final = attempt >= (job.opts.attempts ?? 1);
    const started = performance.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`screenshot timed out after ${jobTimeoutMs} ms`)), jobTimeoutMs);
    const onCancel = () => controller.abort(new Error('screenshot cancelled: the service is closing'));
    cancel?.addEventListener('abort', onCancel, { once: true });
    let source: ScreenshotSource | 'none' = 'none';
    let result: ScreenshotResult;
    try {
      if (!SIGNAL_ID_PATTERN.test(signalId ?? '')) throw new UnrecoverableError(`screenshot job ${job.id} has no valid signalId`);
      if (options.exists && !(await options.exists(signalId))) {
        metrics.outcomes.inc({ source, outcome: 'discarded' });
        log.info({ signalId }, 'signal no longer exists; screenshot dropped');
        return { signalId, status: 'DISCARDED', attempts: attempt };
      }
      const shot = await unlessAborted(shoot(job.data, final, controller.signal), controller.signal, 10_000);
      source = shot.source;
      const file = screenshotFile(signalId);
      directory ??= mkdir(options.dir, { recursive: true }).catch((error: unknown) => {
        directory = undefined;
        throw error;
      });
      await directory;
      await writeAtomically(path.join(options.dir, file), shot.png);
      const { width, height } = pngSize(shot.png);
      result = { signalId, userId, status: 'READY', file, width, height, bytes: shot.png.byteLength, source, attempts: attempt };
      metrics.outcomes.inc({ source, outcome: 'ready' });
      metrics.duration.observe({ source, outcome: 'ready' }, (performance.now() - started) / 1000);
    } catch (error) {
      if (cancel?.aborted) {
        // Shutting down is not the screenshot's fault: back to the queue without using an attempt.
        await job.moveToDelayed(Date.now() + 1_000, token);
        throw new DelayedError();
      }
      const outcome = final || error instanceof UnrecoverableError ? 'failed' : 'retry';
      metrics.outcomes.inc({ source, outcome });
      metrics.duration.observe({ source, outcome }, (performance.now() - started) / 1000);
      if (outcome === 'failed') await deliver({ signalId, userId, status: 'FAILED', error: error instanceof Error ? error.message : String(error), attempts: attempt });
      throw error;
    } finally {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
    }
    await options.onResult?.(result);
    if (options.exists && !(await options.exists(signalId))) {
      await rm(path.join(options.dir, screenshotFile(signalId)), { force: true });
      log.info({ signalId }, 'signal erased while its screenshot was taken; PNG removed');
      return { signalId, status: 'DISCARDED', attempts: attempt };
    }
    log.info({ signalId, source: result.source, attempt, bytes: result.bytes, ms: Math.round(performance.now() - started) }, 'signal screenshot ready');
    return result;
  }

  const fileRoute: Route = {
    method: 'GET',
    path: FILE_PATH,
    name: '/screenshots/:file',
    async handle({ res, url, params }) {
      const file = params[0]!;
      const expires = url.searchParams.get('expires');
      const verdict = signer.verify('screenshot-file', file, expires, url.searchParams.get('signature'));
      if (verdict !== 'ok') return sendJson(res, 403, { error: verdict === 'expired' ? 'Link expired' : 'Invalid link' });
      let handle;
      try {
        handle = await open(path.join(options.dir, file), 'r');
      } catch {
        return sendJson(res, 404, { error: 'Not found' });
      }
      // Size from the open file: a concurrent re-render renames a new file in, this one stays whole.
      const { size } = await handle.stat().catch(async (error: unknown) => {
        await handle.close();
        throw error;
      });
      const maxAge = Math.max(0, Math.min(86_400, Number(expires) - Math.floor(Date.now() / 1000)));
      res.writeHead(200, {
        'content-type': 'image/png',
        'content-length': size,
        'cache-control': `private, max-age=${maxAge}`,
        'x-content-type-options': 'nosniff',
      });
      await pipeline(handle.createReadStream(), res);
    },
  };

  const charts = chartRoutes({ signer, candles: options.candles, candleTimeoutMs: options.candleTimeoutMs ?? 5_000 });
  return {
    routes: [...charts, fileRoute],
    chartRoutes: charts,

    async enqueue(data) {
      if (!SIGNAL_ID_PATTERN.test(data.signalId)) throw badInput('signalId must be 1 to 128 letters, digits, - or _', 'signalId');
      await enqueues.load(traced(data));
    },

    signedUrl(file, ttlSeconds = urlTtlSeconds) {
      if (!FILE_PATTERN.test(file)) throw new Error(`not a screenshot file name: ${file}`);
      const expires = expiresIn(ttlSeconds);
      return `${publicBaseUrl}/screenshots/${file}?expires=${expires}&signature=${signer.sign('screenshot-file', file, expires)}`;
    },

    async stats() {
      const counts = await queue().getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
      return {
        waiting: counts.waiting ?? 0,
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        failed: counts.failed ?? 0,
        prioritized: counts.prioritized ?? 0,
        workers: await queue().getWorkersCount(),
        ...pool.stats(),
      };
    },

    browserPids: () => pool.pids(),

    async discard(signalIds) {
      // Each on its own: Redis being away does not keep the PNGs. A job's data carries the user's
      // sealed TradingView session; a running job is locked, and drops its PNG itself (`exists`).
      const outcomes = await Promise.allSettled([
        inChunks(signalIds, (id) => rm(path.join(options.dir, screenshotFile(id)), { force: true })),
        inChunks(signalIds, (id) => queue().remove(id)),
      ]);
      for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
    },

    reportQueueDepthOn(registry) {
      stopReporting?.();
      stopReporting = reportQueueDepth(registry, queue());
    },

    startWorkers() {
      if (closing) throw new Error('screenshot service is closed');
      if (worker) return;
      const traceJob = (job: ScreenshotJob, token?: string, cancel?: AbortSignal) =>
        inJobSpan(options.tracing, 'process screenshot', job, () => processJob(job, token, cancel), {
          attributes: { 'mercado.signal.id': job.data.signalId },
          outcome: (outcome) => ({ 'mercado.screenshot.status': outcome.status }),
        });
      worker = new Worker<ScreenshotJobData, ScreenshotJobOutcome>(queueName, traceJob, {
        // Options rather than a client: the worker owns its (blocking) connections and reconnects them for ever.
        connection: bullConnection(options.redis, { maxRetriesPerRequest: null }),
        prefix: options.prefix,
        concurrency: options.concurrency ?? 2,
      });
      const errors = createErrorReporter(log, {}, 'screenshot worker error');
      worker.on('error', (error) => errors.error(error));
      worker.on('ready', () => errors.recovered());
      worker.on('failed', (job, error) => {
        const context = { err: error, jobId: job?.id, attemptsMade: job?.attemptsMade };
        if (!job || job.attemptsMade >= (job.opts.attempts ?? 1) || error instanceof UnrecoverableError) log.error(context, 'signal screenshot failed; job left in the failed set');
        else log.warn(context, 'signal screenshot attempt failed; will retry');
      });
      worker.on('stalled', (jobId) => log.warn({ jobId }, 'screenshot job stalled; it will run again'));
    },

    close() {
      closing ??= (async () => {
        if (worker) {
          const closed = worker.close();
          const inTime = await Promise.race([closed.then(() => true), delay(closeGraceMs, false, { ref: false })]);
          if (!inTime) {
            log.warn({ graceMs: closeGraceMs }, 'screenshots still running at shutdown; cancelling them');
            worker.cancelAllJobs('service closing');
            await closed;
          }
        }
        stopReporting?.();
        await producer.close();
        await pool.close();
      })();
      return closing;
    },
  };
}
