import type { ScreenshotJobData } from '../screenshots';
import { TRADINGVIEW_CHART_ID } from '../screenshots/screenshot.capture';

/**
 * What a screenshot job shoots on TradingView: the alert's chart, else the session's default chart,
 * when the owner has a session and the id is one TradingView can have; null: our own chart.
 */
export function tradingViewChart(alertChartId: string | null, defaultChartId: string | null, sealedCookies: string | null): ScreenshotJobData['tradingView'] {
  const chartId = alertChartId ?? defaultChartId;
  if (!sealedCookies || !chartId || !TRADINGVIEW_CHART_ID.test(chartId)) return null;
  return { chartId, sealedCookies };
}
