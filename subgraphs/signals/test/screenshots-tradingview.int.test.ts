import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cleanupRedis, REDIS_URL, testPrefix } from '../../kit/src/events/testing';
import type { ChartCandle } from '../src/screenshots/chart-data';
import type { TradingViewCookie } from '../src/screenshots/screenshot.capture';
import { createScreenshotService, type ScreenshotService } from '../src/screenshots/screenshot.service';
import { colorCounts, decodePng, jobData, ResultLog, serveRoutes, silentLog, STAND_IN_COLOR, startTradingViewStandIn } from './support/screenshots';

jest.setTimeout(60_000);

const SECRET = 'screenshots-tradingview-secret-0123456789abcdef';
const SESSION = 'session-of-user-a';
/** Sealed cookie jars as the signals store keeps them; opening one stands in for decrypting it. */
const JARS: Record<string, TradingViewCookie[]> = {
  'sealed:user-a': [{ name: 'sessionid', value: SESSION, httpOnly: true }],
  'sealed:user-b': [{ name: 'sessionid', value: 'expired-session' }],
  'sealed:nobody': [],
};

describe('signal screenshots of TradingView charts (stand-in TradingView)', () => {
  const prefix = testPrefix('screenshots-tradingview');
  const results = new ResultLog();
  const opened: string[] = [];
  let standIn: Awaited<ReturnType<typeof startTradingViewStandIn>>;
  let routes: { baseUrl: string; close(): Promise<void> };
  let dir: string;
  let service: ScreenshotService;

  const magentaShare = async (file: string): Promise<number> => {
    const image = decodePng(await readFile(path.join(dir, file)));
    return (colorCounts(image).get(STAND_IN_COLOR.join(',')) ?? 0) / (image.width * image.height);
  };

  beforeAll(async () => {
    standIn = await startTradingViewStandIn(SESSION);
    dir = await mkdtemp(path.join(tmpdir(), 'signal-screenshots-tv-'));
    routes = await serveRoutes(() => service.routes);
    const end = Math.floor(Date.now() / 3_600_000) * 3_600;
    const candles: ChartCandle[] = Array.from({ length: 50 }, (_, i) => ({ time: end - (49 - i) * 3_600, open: '10', high: `${12 + (i % 3)}`, low: '9', close: `${i % 2 ? 11 : 9.5}`, volume: '5' }));
    service = createScreenshotService({
      redis: REDIS_URL,
      prefix,
      dir,
      publicBaseUrl: routes.baseUrl,
      urlSecret: SECRET,
      chartBaseUrl: () => routes.baseUrl,
      candles: { candles: async () => candles },
      onResult: results.onResult,
      backoffMs: 50,
      log: silentLog,
      tradingView: {
        baseUrl: standIn.baseUrl,
        openCookies: (sealed) => {
          opened.push(sealed);
          const jar = JARS[sealed];
          if (!jar) throw new Error('cannot open this seal');
          return jar;
        },
      },
    });
    service.startWorkers();
  });

  afterAll(async () => {
    await service?.close();
    await routes?.close();
    await standIn?.close();
    await cleanupRedis(prefix, []);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the stand-in shows a chart only to a signed-in browser', async () => {
    const anonymous = await fetch(`${standIn.baseUrl}/chart/AbC123/`, { redirect: 'manual' });
    expect(anonymous.status).toBe(302);
    const signedIn = await fetch(`${standIn.baseUrl}/chart/AbC123/`, { headers: { cookie: `sessionid=${SESSION}` } });
    expect(signedIn.status).toBe(200);
  });

  it("opens the user's chart with their session cookies and shoots it", async () => {
    const job = jobData({ userId: 'user-a', chartId: 'AbC123', tradingView: { chartId: 'AbC123', sealedCookies: 'sealed:user-a' } });
    await service.enqueue(job);
    const result = await results.next(job.signalId);

    expect(result).toMatchObject({ status: 'READY', source: 'tradingview', width: 1280, height: 720, attempts: 1 });
    expect(standIn.requests.at(-1)).toEqual({ path: '/chart/AbC123/', cookie: `sessionid=${SESSION}`, status: 200 });
    // The stand-in's chart fills the viewport (the rest is its heading).
    expect(await magentaShare(result.file!)).toBeGreaterThan(0.9);
  });

  it('falls back to our own chart when TradingView refuses the session, without retrying', async () => {
    const seen = standIn.requests.length;
    const job = jobData({ userId: 'user-b', tradingView: { chartId: 'AbC123', sealedCookies: 'sealed:user-b' } });
    await service.enqueue(job);
    const result = await results.next(job.signalId);

    expect(result).toMatchObject({ status: 'READY', source: 'chart', attempts: 1 });
    expect(standIn.requests.slice(seen)).toEqual([{ path: '/chart/AbC123/', cookie: 'sessionid=expired-session', status: 302 }]);
    expect(await magentaShare(result.file!)).toBe(0);
  });

  it("never sends one user's cookies with another user's job", async () => {
    const seen = standIn.requests.length;
    const signedIn = jobData({ userId: 'user-a', tradingView: { chartId: 'AbC123', sealedCookies: 'sealed:user-a' } });
    await service.enqueue(signedIn);
    expect(await results.next(signedIn.signalId)).toMatchObject({ status: 'READY', source: 'tradingview' });
    // Same browser, next job: its context starts without user A's session.
    const job = jobData({ userId: 'user-c', tradingView: { chartId: 'AbC123', sealedCookies: 'sealed:nobody' } });
    await service.enqueue(job);
    expect(await results.next(job.signalId)).toMatchObject({ status: 'READY', source: 'chart' });
    expect(standIn.requests.slice(seen)).toEqual([
      { path: '/chart/AbC123/', cookie: `sessionid=${SESSION}`, status: 200 },
      { path: '/chart/AbC123/', cookie: undefined, status: 302 },
    ]);
  });

  it('draws our chart when the sealed cookies cannot be opened or the chart id is malformed', async () => {
    const unopenable = jobData({ tradingView: { chartId: 'AbC123', sealedCookies: 'tampered' } });
    const malformed = jobData({ tradingView: { chartId: '../../admin', sealedCookies: 'sealed:user-a' } });
    const seen = standIn.requests.length;
    await service.enqueue(unopenable);
    await service.enqueue(malformed);
    expect(await results.next(unopenable.signalId)).toMatchObject({ status: 'READY', source: 'chart', attempts: 1 });
    expect(await results.next(malformed.signalId)).toMatchObject({ status: 'READY', source: 'chart', attempts: 1 });
    expect(standIn.requests.length).toBe(seen);
    expect(opened).toContain('tampered');
  });
});
