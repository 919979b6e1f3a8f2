import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { EventHandlers } from '../../kit/src/events';
import { erasureHandlers } from './erasure/erasure.events';
import { salesHandlers } from './sales/sales.events';
import { toEventHandlers, type RollupHandlers } from './shared/consume';
import { signalHandlers } from './signals/signals.events';
import { signupHandlers } from './signups/signups.events';
import { stockHandlers } from './stock/low-stock.events';
import { tradingHandlers } from './trading/trading.events';

/** Every event type EVENT_ROUTES sends to analytics, with the rollup it feeds. */
export function analyticsRollups(log: Logger): RollupHandlers {
  return { ...signupHandlers, ...erasureHandlers, ...salesHandlers, ...stockHandlers, ...tradingHandlers(log), ...signalHandlers };
}

/** The handlers of the `events-analytics` consumer. */
export function createAnalyticsEventHandlers(deps: { log: Logger; registry: Registry }): EventHandlers {
  return toEventHandlers(analyticsRollups(deps.log), deps);
}
