import type { EnvReader } from '../../../kit/src';
import { DEFAULT_CHROME_PATH } from './browser-pool';
import { createTradingCandleSource } from './chart-data';
import { SCREENSHOT_QUEUE, type ScreenshotServiceOptions } from './screenshot.service';

/** The screenshot pipeline's settings; the signals config embeds them (readScreenshotConfig). */
export interface ScreenshotConfig {
  /** Run the screenshot worker (and its Chromium) in this process; API-only replicas turn it off. */
  workers: boolean;
  dir: string;
  queueName: string;
  /** BullMQ key prefix; default BullMQ's. */
  prefix: string | undefined;
  concurrency: number;
  attempts: number;
  backoffMs: number;
  jobTimeoutMs: number;
  viewport: { width: number; height: number };
  urlSecret: string;
  urlTtlSeconds: number;
  /** The trading subgraph's GraphQL endpoint (candles). */
  tradingUrl: string;
  candleTimeoutMs: number;
  browser: { executablePath: string; size: number; pagesPerBrowser: number };
  tradingViewBaseUrl: string;
}

/** Used outside production only, so `npm start` runs without configuration. */
const DEVELOPMENT_URL_SECRET = 'mercado-development-screenshot-url-secret';

/**
 * Reads the SCREENSHOT_* variables (and CHROME_PATH, TRADING_URL, TRADINGVIEW_BASE_URL) through
 * the subgraph's reader; its done() reports problems with the rest. SCREENSHOT_URL_SECRET is
 * required in production (32 bytes or more).
 */
export function readScreenshotConfig(reader: EnvReader, options: { production: boolean }): ScreenshotConfig {
  return {
    workers: reader.bool('SCREENSHOT_WORKERS', true),
    dir: reader.string('SCREENSHOT_DIR', '.data/screenshots'),
    queueName: reader.string('SCREENSHOT_QUEUE', SCREENSHOT_QUEUE),
    prefix: reader.optional('SCREENSHOT_QUEUE_PREFIX'),
    concurrency: reader.int('SCREENSHOT_CONCURRENCY', 2, { min: 1, max: 32 }),
    attempts: reader.int('SCREENSHOT_ATTEMPTS', 3, { min: 1, max: 20 }),
    backoffMs: reader.int('SCREENSHOT_BACKOFF_MS', 2_000, { min: 10, max: 3_600_000 }),
    jobTimeoutMs: reader.int('SCREENSHOT_TIMEOUT_MS', 30_000, { min: 1_000, max: 600_000 }),
    viewport: {
      width: reader.int('SCREENSHOT_WIDTH', 1280, { min: 320, max: 3840 }),
      height: reader.int('SCREENSHOT_HEIGHT', 720, { min: 240, max: 2160 }),
    },
    urlSecret: options.production ? reader.string('SCREENSHOT_URL_SECRET') : reader.string('SCREENSHOT_URL_SECRET', DEVELOPMENT_URL_SECRET),
    urlTtlSeconds: reader.int('SCREENSHOT_URL_TTL_SECONDS', 3_600, { min: 10, max: 7 * 86_400 }),
    tradingUrl: reader.url('TRADING_URL', 'http://127.0.0.1:4006/graphql'),
    candleTimeoutMs: reader.int('SCREENSHOT_CANDLES_TIMEOUT_MS', 5_000, { min: 100, max: 60_000 }),
    browser: {
      executablePath: reader.string('CHROME_PATH', DEFAULT_CHROME_PATH),
      size: reader.int('SCREENSHOT_BROWSERS', 1, { min: 1, max: 16 }),
      pagesPerBrowser: reader.int('SCREENSHOT_PAGES_PER_BROWSER', 100, { min: 1, max: 100_000 }),
    },
    tradingViewBaseUrl: reader.url('TRADINGVIEW_BASE_URL', 'https://www.tradingview.com'),
  };
}

/**
 * The service options the config decides. The server adds `redis`, `log`, `publicBaseUrl`,
 * `chartBaseUrl`, `onResult`, `metrics` and, with a cookie opener, `tradingView`.
 */
export function screenshotSettings(config: ScreenshotConfig): Omit<ScreenshotServiceOptions, 'redis' | 'log' | 'publicBaseUrl' | 'chartBaseUrl'> {
  return {
    dir: config.dir,
    queueName: config.queueName,
    prefix: config.prefix,
    concurrency: config.concurrency,
    attempts: config.attempts,
    backoffMs: config.backoffMs,
    jobTimeoutMs: config.jobTimeoutMs,
    viewport: config.viewport,
    urlSecret: config.urlSecret,
    urlTtlSeconds: config.urlTtlSeconds,
    candles: createTradingCandleSource({ tradingUrl: config.tradingUrl, timeoutMs: config.candleTimeoutMs }),
    candleTimeoutMs: config.candleTimeoutMs,
    browser: config.browser,
  };
}
