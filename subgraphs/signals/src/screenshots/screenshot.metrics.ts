import { Counter, Histogram, type Registry } from 'prom-client';

export interface ScreenshotMetrics {
  /** One attempt, by what it captured (chart, placeholder, tradingview, none) and its outcome (ready, retry, failed; discarded is counted, not timed). */
  duration: Histogram<'source' | 'outcome'>;
  outcomes: Counter<'source' | 'outcome'>;
  browserRestarts: Counter<'reason'>;
}

/** Registered on `registry`, reusing metrics a previous service registered there. */
export function screenshotMetrics(registry: Registry): ScreenshotMetrics {
  const existing = <T>(name: string): T | undefined => registry.getSingleMetric(name) as T | undefined;
  return {
    duration:
      existing<Histogram<'source' | 'outcome'>>('signal_screenshot_duration_seconds') ??
      new Histogram({
        name: 'signal_screenshot_duration_seconds',
        help: 'Time of one signal screenshot attempt, from job start to the PNG written (or the failure)',
        labelNames: ['source', 'outcome'],
        buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30],
        registers: [registry],
      }),
    outcomes:
      existing<Counter<'source' | 'outcome'>>('signal_screenshots_total') ??
      new Counter({
        name: 'signal_screenshots_total',
        help: 'Signal screenshot attempts by outcome: ready, retry (failed, will retry), failed (gave up), discarded (the signal was erased)',
        labelNames: ['source', 'outcome'],
        registers: [registry],
      }),
    browserRestarts:
      existing<Counter<'reason'>>('signal_screenshot_browser_restarts_total') ??
      new Counter({
        name: 'signal_screenshot_browser_restarts_total',
        help: 'Chromium browsers replaced: after their page budget (pages), a crash or disconnect (crash), a page that would not close (hung)',
        labelNames: ['reason'],
        registers: [registry],
      }),
  };
}
