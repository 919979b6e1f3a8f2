import type { OutboxInsert } from '../../../kit/src';
import { plain, plainOrNull } from '../shared/decimal';
import type { TradeOrderRecord } from './trade-order.model';
import type { FillRow } from './trade-order.store';

/** What trading writes to its outbox, in the transaction of the change each event describes (portfolio and analytics consume them). */
export const TRADING_EVENT_SOURCE = 'trading';
export const TRADE_ORDER_UPDATED = 'TradeOrderUpdated';
export const FILL_EXECUTED = 'FillExecuted';

/** `FillExecuted` (subject: order id). Decimal strings; `fee` in `feeCurrency` (the quote asset on paper). */
export interface FillExecutedData {
  fillId: string;
  orderId: string;
  accountId: string;
  userId: string;
  symbol: string;
  base: string;
  quote: string;
  side: 'BUY' | 'SELL';
  quantity: string;
  price: string;
  fee: string;
  feeCurrency: string;
  /** ISO 8601 */
  executedAt: string;
}

/** `TradeOrderUpdated` (subject: order id): the order as one transaction left it (one per transaction that changed it). */
export interface TradeOrderUpdatedData {
  orderId: string;
  userId: string;
  accountId: string;
  clientOrderId: string;
  symbol: string;
  side: string;
  type: string;
  status: string;
  quantity: string;
  filledQuantity: string;
  averagePrice: string | null;
  reason: string | null;
  /** ISO 8601 */
  updatedAt: string;
}

export const fillExecutedData = (order: TradeOrderRecord, fill: FillRow): FillExecutedData => ({
  fillId: fill.id,
  orderId: order.id,
  accountId: order.accountId,
  userId: order.userId,
  symbol: order.symbol,
  base: order.base,
  quote: order.quote,
  side: order.side,
  quantity: plain(fill.quantity),
  price: plain(fill.price),
  fee: plain(fill.fee),
  feeCurrency: fill.feeCurrency,
  executedAt: fill.executedAt.toISOString(),
});

export const tradeOrderUpdatedData = (order: TradeOrderRecord): TradeOrderUpdatedData => ({
  orderId: order.id,
  userId: order.userId,
  accountId: order.accountId,
  clientOrderId: order.clientOrderId,
  symbol: order.symbol,
  side: order.side,
  type: order.type,
  status: order.status,
  quantity: plain(order.quantity),
  filledQuantity: plain(order.filledQuantity),
  averagePrice: plainOrNull(order.averagePrice),
  reason: order.reason,
  updatedAt: order.updatedAt.toISOString(),
});

export const fillExecutedEvent = (order: TradeOrderRecord, fill: FillRow): OutboxInsert => ({ type: FILL_EXECUTED, subject: order.id, data: fillExecutedData(order, fill), occurredAt: fill.executedAt });

export const tradeOrderUpdatedEvent = (order: TradeOrderRecord): OutboxInsert => ({ type: TRADE_ORDER_UPDATED, subject: order.id, data: tradeOrderUpdatedData(order), occurredAt: order.updatedAt });
