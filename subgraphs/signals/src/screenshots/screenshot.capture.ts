import type { ChartData } from './chart-data';
import type { BrowserContext, Page } from './puppeteer';

export interface Viewport {
  width: number;
  height: number;
}

/** A TradingView session cookie, as `openCookies` returns it (domain defaults to TradingView's host). */
export interface TradingViewCookie {
  name: string;
  value: string;
  domain?: string;
  path?: string;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
  /** Seconds since the epoch. */
  expires?: number;
}

export interface TradingViewOptions {
  /** e.g. https://www.tradingview.com (TRADINGVIEW_BASE_URL). */
  baseUrl: string;
  /** Opens a user's sealed session cookies (sealed for `owner.userId`, the job's user); the sealed form is all that is stored or queued. */
  openCookies(sealed: string, owner: { userId: string }): Promise<TradingViewCookie[]> | TradingViewCookie[];
  /** Shown once the chart has drawn. Default TradingView's chart table. */
  readySelector?: string;
}

export const TRADINGVIEW_READY_SELECTOR = '.chart-markup-table';
/** A TradingView chart (layout) id, as in https://www.tradingview.com/chart/<id>/. */
export const TRADINGVIEW_CHART_ID = /^[A-Za-z0-9]{1,64}$/;

/** TradingView will not show this chart (bad id, no or expired session, no access): retrying does not help. */
export class TradingViewRefused extends Error {
  override name = 'TradingViewRefused';
}

/** Opens the signed chart page, waits for its `__chartReady` flag and shoots the `#shot` element. */
export async function captureChart(page: Page, url: string, viewport: Viewport, timeoutMs: number): Promise<{ png: Uint8Array; status: ChartData['status'] }> {
  await page.setViewport({ ...viewport, deviceScaleFactor: 1 });
  const response = await page.goto(url, { waitUntil: 'domcontentloaded', timeout: timeoutMs });
  if (!response?.ok()) throw new Error(`chart page answered HTTP ${response?.status() ?? 'nothing'}`);
  await page.waitForFunction('window.__chartReady === true', { timeout: timeoutMs });
  const [status, error] = (await page.evaluate('[window.__chartStatus, window.__chartError || null]')) as [string, string | null];
  if (status !== 'ok' && status !== 'no-data' && status !== 'unavailable') throw new Error(`chart did not draw: ${error ?? status}`);
  const element = await page.$('#shot');
  if (!element) throw new Error('chart page has no #shot element');
  return { png: await element.screenshot({ type: 'png' }), status };
}

/** Opens `<baseUrl>/chart/<chartId>/` with the user's session cookies (in this job's own context) and shoots the viewport. */
export async function captureTradingView(
  page: Page,
  context: BrowserContext,
  options: TradingViewOptions,
  chart: { chartId: string; sealedCookies: string; userId: string },
  viewport: Viewport,
  timeoutMs: number,
): Promise<Uint8Array> {
  if (!TRADINGVIEW_CHART_ID.test(chart.chartId)) throw new TradingViewRefused('malformed TradingView chart id');
  let cookies: TradingViewCookie[];
  try {
    cookies = await options.openCookies(chart.sealedCookies, { userId: chart.userId });
  } catch {
    throw new TradingViewRefused('the TradingView session cannot be opened');
  }
  const base = new URL(options.baseUrl);
  if (cookies.length > 0) await context.setCookie(...cookies.map((cookie) => ({ ...cookie, domain: cookie.domain ?? base.hostname, path: cookie.path ?? '/' })));
  await page.setViewport({ ...viewport, deviceScaleFactor: 1 });
  const chartPath = `/chart/${chart.chartId}/`;
  const response = await page.goto(new URL(chartPath, base).toString(), { waitUntil: 'domcontentloaded', timeout: timeoutMs });
  const status = response?.status() ?? 0;
  // A session TradingView does not accept ends on its sign-in page or an error status.
  if ([401, 403, 404].includes(status) || !new URL(page.url()).pathname.startsWith(chartPath)) {
    throw new TradingViewRefused(`TradingView refused the chart (HTTP ${status})`);
  }
  if (!response?.ok()) throw new Error(`TradingView answered HTTP ${status}`);
  await page.waitForSelector(options.readySelector ?? TRADINGVIEW_READY_SELECTOR, { visible: true, timeout: timeoutMs });
  return page.screenshot({ type: 'png' });
}
