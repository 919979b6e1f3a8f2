import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { ConfigError, readEnv } from '../../kit/src';
import { cleanupRedis, REDIS_URL, testPrefix } from '../../kit/src/events/testing';
import { queueJobsOnMetrics } from '../../kit/src/testing';
import { DEMO_INSTRUMENTS, seedTrading } from '../../trading/src/seeds/trading.seed';
import { startTrading, testDatabase, uniquePrefix, type TradingHarness } from '../../trading/test/support/harness';
import { chartTimeframe, marketSymbol } from '../src/screenshots/chart-data';
import { chartPageUrl, type ChartSignal } from '../src/screenshots/chart.page';
import { pngSize } from '../src/screenshots/png';
import { readScreenshotConfig } from '../src/screenshots/screenshot.config';
import { createScreenshotService, createTradingCandleSource, type CandleSource, type ScreenshotService, type ScreenshotServiceOptions } from '../src/screenshots/screenshot.service';
import { UrlSigner } from '../src/screenshots/signed-url';
import { colorCounts, decodePng, eventually, jobData, ResultLog, serveRoutes, silentLog } from './support/screenshots';

jest.setTimeout(60_000);

const NOW = new Date('2024-06-01T12:00:30.000Z');
const SIGNAL_AT = '2024-06-01T10:07:12.000Z';
const SECRET = 'screenshots-test-secret-0123456789abcdef';
/** Candle colours of the chart page (up, down). */
const UP = '38,166,154';
const DOWN = '239,83,80';

describe('chart inputs and configuration', () => {
  it("maps alert intervals to the trading subgraph's timeframes", () => {
    expect(['1', '5', '15', '30', '60', '240', 'D', '1D', '1W', '15m', '4h', '1d', '45S', '2h'].map(chartTimeframe)).toEqual([
      '1m', '5m', '15m', '15m', '1h', '4h', '1d', '1d', '1d', '15m', '4h', '1d', '1m', '1h',
    ]);
    expect([null, '', 'weekly', '0'].map(chartTimeframe)).toEqual(['1h', '1h', '1h', '1h']);
  });

  it("turns TradingView tickers into the trading subgraph's symbols", () => {
    expect(['BTC/USDT', 'BINANCE:BTCUSDT', 'btcusdt', 'ETHUSDT.P', 'ETH-BTC', 'SOLFDUSD', 'XRPUSD'].map(marketSymbol)).toEqual([
      'BTC/USDT', 'BTC/USDT', 'BTC/USDT', 'ETH/USDT', 'ETH/BTC', 'SOL/FDUSD', 'XRP/USD',
    ]);
    expect(['AAPL', 'USDT', 'not a symbol', ''].map(marketSymbol)).toEqual([null, null, null, null]);
  });

  it('reads its settings, requiring a URL secret in production', () => {
    const reader = readEnv({ SCREENSHOT_CONCURRENCY: '4', CHROME_PATH: '/opt/chrome', SCREENSHOT_URL_SECRET: SECRET });
    expect(readScreenshotConfig(reader, { production: true })).toMatchObject({
      workers: true,
      concurrency: 4,
      attempts: 3,
      jobTimeoutMs: 30_000,
      viewport: { width: 1280, height: 720 },
      urlSecret: SECRET,
      browser: { executablePath: '/opt/chrome', size: 1, pagesPerBrowser: 100 },
    });
    reader.done();
    const missing = readEnv({ SCREENSHOT_TIMEOUT_MS: '10' });
    readScreenshotConfig(missing, { production: true });
    expect(() => missing.done()).toThrow(ConfigError);
    expect(() => missing.done()).toThrow(/SCREENSHOT_URL_SECRET is required/);
    expect(() => missing.done()).toThrow(/SCREENSHOT_TIMEOUT_MS must be between 1000/);
    // Outside production a development secret stands in.
    expect(readScreenshotConfig(readEnv({}), { production: false }).urlSecret.length).toBeGreaterThanOrEqual(32);
  });
});

describe('signal screenshots (real trading subgraph, Redis, Chromium)', () => {
  const database = testDatabase('screenshots');
  const prefix = testPrefix('screenshots');
  const results = new ResultLog();
  const registry = new Registry();
  let trading: TradingHarness;
  let routes: { baseUrl: string; close(): Promise<void> };
  let dir: string;
  let service: ScreenshotService;
  /** Makes the trading subgraph unreachable for the chart pages drawn meanwhile. */
  let tradingDown = false;
  const others: ScreenshotService[] = [];

  const options = (overrides: Partial<ScreenshotServiceOptions> = {}): ScreenshotServiceOptions => {
    const real = createTradingCandleSource({ tradingUrl: trading.url });
    const unreachable = createTradingCandleSource({ tradingUrl: 'http://127.0.0.1:9/graphql', timeoutMs: 1_000 });
    const candles: CandleSource = { candles: (...args) => (tradingDown ? unreachable : real).candles(...args) };
    return {
      redis: REDIS_URL,
      prefix,
      dir,
      publicBaseUrl: routes.baseUrl,
      urlSecret: SECRET,
      chartBaseUrl: () => routes.baseUrl,
      candles,
      onResult: results.onResult,
      backoffMs: 50,
      metrics: registry,
      log: silentLog,
      ...overrides,
    };
  };

  beforeAll(async () => {
    trading = await startTrading({ databaseUrl: database.url, prefix: uniquePrefix('screenshots') });
    const instruments = DEMO_INSTRUMENTS.filter((instrument) => ['BTC/USDT', 'XRP/USDT'].includes(instrument.symbol));
    await seedTrading(trading.server.orm.em.fork(), instruments, { now: NOW, historyDays: 1 });
    dir = await mkdtemp(path.join(tmpdir(), 'signal-screenshots-'));
    routes = await serveRoutes(() => service.routes);
    service = createScreenshotService(options());
    service.startWorkers();
  });

  afterAll(async () => {
    await Promise.all([service, ...others].map((each) => each?.close()));
    await routes?.close();
    await trading?.close();
    await database.drop();
    await cleanupRedis(prefix, []);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('draws the signal on candles from the trading subgraph and writes <signalId>.png at the viewport size', async () => {
    const job = jobData({ symbol: 'BTC/USDT', timeframe: '15', receivedAt: SIGNAL_AT, price: '67120.5', takeProfit: '67900', stopLoss: '66800' });
    await service.enqueue(job);
    const result = await results.next(job.signalId);

    expect(result).toMatchObject({ signalId: job.signalId, userId: 'user-1', status: 'READY', file: `${job.signalId}.png`, width: 1280, height: 720, source: 'chart', attempts: 1 });
    const png = await readFile(path.join(dir, `${job.signalId}.png`));
    expect(result.bytes).toBe(png.length);
    expect(pngSize(png)).toEqual({ width: 1280, height: 720 });
    const colors = colorCounts(decodePng(png));
    // A drawn chart: many colours (text, grid, antialiasing), among them both candle colours.
    expect(colors.size).toBeGreaterThan(100);
    expect(colors.get(UP)).toBeGreaterThan(500);
    expect(colors.get(DOWN)).toBeGreaterThan(500);
    // Written atomically: no temporary file left behind.
    expect(await readdir(dir)).not.toContainEqual(expect.stringMatching(/\.tmp$/));
  });

  it('serves the chart page only with a valid signature, with candles fetched server-side', async () => {
    const signer = new UrlSigner(SECRET);
    const signal: ChartSignal = { signalId: randomUUID(), symbol: 'XRP/USDT', exchange: null, timeframe: '1h', price: '0.5213', action: 'SELL', receivedAt: SIGNAL_AT, takeProfit: null, stopLoss: '0.5301' };
    const url = chartPageUrl(routes.baseUrl, signer, signal, 60);

    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('x-chart-status')).toBe('ok');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self' 'nonce-/);
    const html = await page.text();
    expect(html).toContain('<script src="/assets/lightweight-charts.js"></script>');
    expect(html).toContain('<title>XRP/USDT · 1h · SELL</title>');
    const data = JSON.parse(/<script type="application\/json" id="chart-data">(.*?)<\/script>/s.exec(html)![1]!);
    expect(data).toMatchObject({ status: 'ok', symbol: 'XRP/USDT', timeframe: '1h', precision: 4 });
    // Hourly candles up to the signal's hour (the seed's history ends at NOW), the marker on that hour.
    expect(data.candles.length).toBeGreaterThan(20);
    expect(data.markerTime).toBe(Date.parse('2024-06-01T10:00:00Z') / 1000);
    expect(data.levels).toEqual([expect.objectContaining({ label: 'Entry', price: 0.5213 }), expect.objectContaining({ label: 'SL', price: 0.5301 })]);

    const tampered = url.replace(/d=[^&]+/, `d=${Buffer.from(JSON.stringify({ ...signal, symbol: 'BTC/USDT' })).toString('base64url')}`);
    expect((await fetch(tampered)).status).toBe(403);
    expect((await fetch(url.replace(`/charts/${signal.signalId}`, `/charts/${randomUUID()}`))).status).toBe(403);
    expect((await fetch(url.replace(/&signature=.*/, ''))).status).toBe(403);
    const expired = chartPageUrl(routes.baseUrl, signer, signal, 60).replace(/expires=\d+/, 'expires=1000');
    expect((await fetch(expired)).status).toBe(403);
  });

  it('escapes what the alert said on the chart page', async () => {
    const hostile: ChartSignal = {
      signalId: randomUUID(),
      symbol: 'BTC/USDT',
      exchange: '<img src=x onerror=alert(1)>',
      timeframe: '1h',
      price: null,
      action: '</script><script>alert(2)</script>',
      receivedAt: SIGNAL_AT,
      takeProfit: null,
      stopLoss: null,
    };
    const html = await (await fetch(chartPageUrl(routes.baseUrl, new UrlSigner(SECRET), hostile, 60))).text();
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<script>alert(2)');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html.match(/<script/g)).toHaveLength(3);
  });

  it('serves the bundled lightweight-charts script with cache headers', async () => {
    const script = await fetch(`${routes.baseUrl}/assets/lightweight-charts.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.headers.get('cache-control')).toBe('public, max-age=86400');
    expect(await script.text()).toContain('window.LightweightCharts');
    const again = await fetch(`${routes.baseUrl}/assets/lightweight-charts.js`, { headers: { 'if-none-match': script.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('serves a PNG through a signed URL; refuses forged, foreign and expired signatures', async () => {
    const job = jobData({ symbol: 'BTC/USDT', receivedAt: SIGNAL_AT });
    await service.enqueue(job);
    const { file } = await results.next(job.signalId);
    const url = service.signedUrl(file!);
    expect(url.startsWith(`${routes.baseUrl}/screenshots/${file}?expires=`)).toBe(true);

    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
    expect(Buffer.from(await response.arrayBuffer()).equals(await readFile(path.join(dir, file!)))).toBe(true);

    const signature = new URL(url).searchParams.get('signature')!;
    const forged = url.replace(signature, `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`);
    expect((await fetch(forged)).status).toBe(403);
    // Another file's signature, and a later expiry with the old signature.
    const other = service.signedUrl(`${randomUUID()}.png`);
    expect((await fetch(url.replace(new URL(url).searchParams.get('signature')!, new URL(other).searchParams.get('signature')!))).status).toBe(403);
    expect((await fetch(url.replace(/expires=(\d+)/, (_, expires: string) => `expires=${Number(expires) + 1}`))).status).toBe(403);
    // Correctly signed but expired.
    const expiredAt = Math.floor(Date.now() / 1000) - 5;
    const expired = `${routes.baseUrl}/screenshots/${file}?expires=${expiredAt}&signature=${new UrlSigner(SECRET).sign('screenshot-file', file!, expiredAt)}`;
    const refused = await fetch(expired);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ error: 'Link expired' });
    // A chart-page signature is no file signature.
    const crossPurpose = `${routes.baseUrl}/screenshots/${file}?expires=${expiredAt + 600}&signature=${new UrlSigner(SECRET).sign('chart-page', file!, expiredAt + 600)}`;
    expect((await fetch(crossPurpose)).status).toBe(403);
    // A valid signature for a file that does not exist.
    expect((await fetch(service.signedUrl(`${randomUUID()}.png`))).status).toBe(404);
    expect(() => service.signedUrl('../secret.png')).toThrow(/not a screenshot file name/);
  });

  it('draws a placeholder at once for a market without candles', async () => {
    // An exit without TP: nothing on the page is drawn in the up-candle colour.
    const job = jobData({ symbol: 'DOGEUSDT', action: 'CLOSE', takeProfit: null, receivedAt: SIGNAL_AT });
    await service.enqueue(job);
    const result = await results.next(job.signalId);
    expect(result).toMatchObject({ status: 'READY', source: 'placeholder', attempts: 1, width: 1280, height: 720 });
    const colors = colorCounts(decodePng(await readFile(path.join(dir, result.file!))));
    expect(colors.size).toBeGreaterThan(20);
    expect(colors.has(UP)).toBe(false);
    expect(colors.has(DOWN)).toBe(true); // the SL
  });

  it('retries while the trading subgraph is unreachable, and keeps a placeholder on the last attempt', async () => {
    /** The sum of one series (a counter, or a histogram's `_count`) over entries with these labels. */
    const figure = async (metric: string, series: string, labels: Record<string, string>): Promise<number> => {
      const values = (await registry.getSingleMetric(metric)!.get()).values as { metricName?: string; labels: Record<string, string | number>; value: number }[];
      return values
        .filter((entry) => (entry.metricName ?? metric) === series && Object.entries(labels).every(([key, text]) => entry.labels[key] === text))
        .reduce((sum, entry) => sum + entry.value, 0);
    };
    const figures = () =>
      Promise.all([
        figure('signal_screenshots_total', 'signal_screenshots_total', { source: 'none', outcome: 'retry' }),
        figure('signal_screenshots_total', 'signal_screenshots_total', { source: 'placeholder', outcome: 'ready' }),
        figure('signal_screenshot_duration_seconds', 'signal_screenshot_duration_seconds_count', { source: 'placeholder', outcome: 'ready' }),
      ]);
    const before = await figures();
    const job = jobData({ symbol: 'BTC/USDT', receivedAt: SIGNAL_AT });
    tradingDown = true;
    try {
      await service.enqueue(job);
      const result = await results.next(job.signalId);
      expect(result).toMatchObject({ status: 'READY', source: 'placeholder', attempts: 3 });
    } finally {
      tradingDown = false;
    }
    const after = await figures();
    // Two failed attempts, one placeholder written; the duration histogram counted it.
    expect(after.map((value, i) => value - before[i]!)).toEqual([2, 1, 1]);
  });

  it('keeps one job per signal id, before and after it ran', async () => {
    const job = jobData({ receivedAt: SIGNAL_AT });
    await Promise.all([service.enqueue(job), service.enqueue(job), service.enqueue({ ...job, plan: 'premium' })]);
    await results.next(job.signalId);
    await service.enqueue(job);
    const stats = await service.stats();
    expect(stats).toMatchObject({ waiting: 0, prioritized: 0, delayed: 0 });
    expect(results.results.filter((result) => result.signalId === job.signalId)).toHaveLength(1);
    await expect(service.enqueue({ ...job, signalId: '../../etc/passwd' })).rejects.toThrow(/signalId/);
  });

  it('runs premium signals first, then pro, then free', async () => {
    const order: string[] = [];
    const prioritized = createScreenshotService(
      options({
        queueName: 'signals-screenshots-priority',
        concurrency: 1,
        onResult: (result) => {
          order.push(result.signalId);
        },
      }),
    );
    others.push(prioritized);
    const jobs = [
      jobData({ signalId: `free-1-${randomUUID()}`, plan: 'free', receivedAt: SIGNAL_AT }),
      jobData({ signalId: `free-2-${randomUUID()}`, plan: 'free', receivedAt: SIGNAL_AT }),
      jobData({ signalId: `pro-${randomUUID()}`, plan: 'pro', receivedAt: SIGNAL_AT }),
      jobData({ signalId: `premium-${randomUUID()}`, plan: 'premium', receivedAt: SIGNAL_AT }),
    ];
    for (const job of jobs) await prioritized.enqueue(job);
    await prioritized.enqueue(jobs[0]!);
    expect(await prioritized.stats()).toMatchObject({ prioritized: 4, waiting: 0, active: 0, workers: 0, browsers: 0 });
    // The same backlog on /metrics.
    prioritized.reportQueueDepthOn(registry);
    const backlog = async () => (await queueJobsOnMetrics(registry, 'signals-screenshots-priority')).prioritized;
    expect(await backlog()).toBe(4);

    prioritized.startWorkers();
    await eventually(() => order.length === 4, 'four screenshots');
    expect(order.map((id) => id.split('-')[0])).toEqual(['premium', 'pro', 'free', 'free']);
    expect(await prioritized.stats()).toMatchObject({ prioritized: 0, waiting: 0, failed: 0, workers: 1, browsers: 1 });
    expect(await backlog()).toBe(0);
  });

  it('reports queue and browser figures', async () => {
    const job = jobData({ receivedAt: SIGNAL_AT });
    await service.enqueue(job);
    await results.next(job.signalId);
    const stats = await service.stats();
    expect(stats).toEqual({ waiting: 0, active: expect.any(Number), delayed: 0, failed: 0, prioritized: 0, workers: 1, browsers: 1, pages: expect.any(Number) });
    expect((await stat(dir)).isDirectory()).toBe(true);
  });
});
