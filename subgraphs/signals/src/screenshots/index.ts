export * from './screenshot.service';
export * from './screenshot.config';
export { marketSymbol, chartTimeframe, type ChartCandle } from './chart-data';
export type { BrowserPoolOptions } from './browser-pool';
export { TRADINGVIEW_CHART_ID, type TradingViewCookie, type TradingViewOptions, type Viewport } from './screenshot.capture';
