/** The events signals produces (EVENT_ROUTES sends them to analytics); subject: the signal id. */
export const SIGNALS_EVENT_SOURCE = 'signals';
export const SIGNAL_RECEIVED = 'SignalReceived';
export const SIGNAL_SCREENSHOT_READY = 'SignalScreenshotReady';
export const SIGNAL_RESOLVED = 'SignalResolved';

export interface SignalReceivedData {
  signalId: string;
  userId: string;
  endpointId: string;
  symbol: string | null;
  ticker: string | null;
  exchange: string | null;
  action: string;
  price: string | null;
  timeframe: string | null;
  indicator: string | null;
  receivedAt: string;
}

export interface SignalScreenshotReadyData {
  signalId: string;
  userId: string;
  file: string;
}

export interface SignalResolvedData {
  signalId: string;
  userId: string;
  result: 'WIN' | 'LOSS' | 'SKIP';
  exitPrice: string | null;
  profitLoss: string | null;
  /** true when the owner marked it, false when the price feed resolved it. */
  manual: boolean;
  resolvedAt: string;
}
