import { registerEnumType } from 'type-graphql';

/** What every layer of trade orders shares: the enums and the order as a plain record. */

export enum TradeSide {
  BUY = 'BUY',
  SELL = 'SELL',
}

export enum TradeOrderType {
  MARKET = 'MARKET',
  LIMIT = 'LIMIT',
  STOP_MARKET = 'STOP_MARKET',
  STOP_LIMIT = 'STOP_LIMIT',
  TAKE_PROFIT = 'TAKE_PROFIT',
  TRAILING_STOP = 'TRAILING_STOP',
  ICEBERG = 'ICEBERG',
  TWAP = 'TWAP',
}

export enum TradeOrderStatus {
  NEW = 'NEW',
  OPEN = 'OPEN',
  PARTIALLY_FILLED = 'PARTIALLY_FILLED',
  FILLED = 'FILLED',
  CANCELLED = 'CANCELLED',
  REJECTED = 'REJECTED',
  EXPIRED = 'EXPIRED',
}

export enum OcoRole {
  TAKE_PROFIT = 'TAKE_PROFIT',
  STOP_LOSS = 'STOP_LOSS',
}

export enum Liquidity {
  MAKER = 'MAKER',
  TAKER = 'TAKER',
}

/** `native`: the exchange (paper or real) runs the order type itself; `emulated`: our engine watches the feed and sends simpler orders. */
export type ExecutionMode = 'native' | 'emulated';

/** States an order can still leave (it may fill or be cancelled). */
export const LIVE_STATUSES: readonly TradeOrderStatus[] = [TradeOrderStatus.NEW, TradeOrderStatus.OPEN, TradeOrderStatus.PARTIALLY_FILLED];
export const isLive = (status: TradeOrderStatus): boolean => LIVE_STATUSES.includes(status);

/**
 * Take-profit and stop-loss prices attached to an order: once it has filled they are placed as an
 * OCO pair of opposite-side orders (TAKE_PROFIT and STOP_MARKET); one filling cancels the other.
 */
export interface AttachedExits {
  takeProfit: string | null;
  stopLoss: string | null;
}

/** A trade order as stored (decimal strings; what the raw-SQL write paths and the entity share). */
export interface TradeOrderRecord {
  id: string;
  userId: string;
  accountId: string;
  clientOrderId: string;
  symbol: string;
  base: string;
  quote: string;
  side: TradeSide;
  type: TradeOrderType;
  quantity: string;
  price: string | null;
  stopPrice: string | null;
  trailingPercent: string | null;
  trailingAmount: string | null;
  /** TRAILING_STOP: where trailing starts (null: at once). */
  activationPrice: string | null;
  visibleQuantity: string | null;
  twapDurationMs: number | null;
  twapSlices: number | null;
  exits: AttachedExits | null;
  parentId: string | null;
  ocoGroupId: string | null;
  ocoRole: OcoRole | null;
  status: TradeOrderStatus;
  filledQuantity: string;
  averagePrice: string | null;
  feeTotal: string;
  reason: string | null;
  execution: ExecutionMode;
  triggerState: Record<string, unknown> | null;
  reservedAsset: string | null;
  reservedAmount: string;
  exchangeOrderId: string | null;
  triggeredAt: Date | null;
  triggerTickAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  closedAt: Date | null;
  version: number;
}

registerEnumType(TradeSide, { name: 'TradeSide' });
registerEnumType(TradeOrderType, {
  name: 'TradeOrderType',
  description:
    'MARKET: now at the best price. LIMIT: at `price` or better. STOP_MARKET: a market order once the price reaches `stopPrice` ' +
    '(BUY: at or above, SELL: at or below). STOP_LIMIT: a limit order at `price` once `stopPrice` is reached. TAKE_PROFIT: a market ' +
    'order once the price reaches `stopPrice` in the favourable direction (SELL: at or above, BUY: at or below). TRAILING_STOP: a stop ' +
    'that follows the best price by `trailingPercent` or `trailingAmount`. ICEBERG: a limit order showing `visibleQuantity` at a time. ' +
    'TWAP: `quantity` split into `twapSlices` market orders spread over `twapDurationMs`.',
});
registerEnumType(TradeOrderStatus, {
  name: 'TradeOrderStatus',
  description:
    'NEW: accepted, not yet working (a real exchange has not confirmed it yet). OPEN: working (resting or waiting for its trigger). ' +
    'PARTIALLY_FILLED, FILLED. CANCELLED: by the user or the engine (see reason). REJECTED: the exchange refused it (see reason). ' +
    'EXPIRED: the exchange expired it.',
});
registerEnumType(OcoRole, { name: 'OcoRole', description: 'The leg of an attached take-profit / stop-loss pair; one filling cancels the other.' });
registerEnumType(Liquidity, { name: 'Liquidity', description: 'MAKER: the fill rested on the book; TAKER: it took liquidity.' });
