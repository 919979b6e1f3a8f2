/**
 * What the order engine needs from a real exchange. The ccxt adapter implements it; the paper
 * exchange does not (its balances and fills live in our own database, inside the order's transaction).
 * Prices and quantities are decimal strings, never floats.
 */

export type OrderSide = 'BUY' | 'SELL';

/** Order types an exchange may take natively; TWAP is always ours (delayed slices). */
export type NativeOrderType = 'MARKET' | 'LIMIT' | 'STOP_MARKET' | 'STOP_LIMIT' | 'TAKE_PROFIT' | 'TRAILING_STOP' | 'ICEBERG';

export interface ExchangeCredentials {
  apiKey: string;
  secret: string;
  /** Some exchanges (OKX, KuCoin) want a passphrase too. */
  password?: string;
}

export interface PlaceOrderRequest {
  /** Our idempotency key, sent as the exchange's client order id so a retried request is recognised. */
  clientOrderId: string;
  /** ccxt unified symbol, e.g. `BTC/USDT`. */
  symbol: string;
  side: OrderSide;
  type: NativeOrderType;
  quantity: string;
  /** Limit price (LIMIT, STOP_LIMIT, ICEBERG). */
  price?: string;
  /** Trigger price (STOP_MARKET, STOP_LIMIT, TAKE_PROFIT). */
  stopPrice?: string;
  /** TRAILING_STOP: exactly one of the two. */
  trailingPercent?: string;
  trailingAmount?: string;
  /** TRAILING_STOP: the price that starts the trailing (ccxt's trailingTriggerPrice). */
  activationPrice?: string;
  /** ICEBERG: the quantity shown on the book. */
  visibleQuantity?: string;
}

export interface ExchangeFill {
  tradeId: string;
  price: string;
  quantity: string;
  fee: string;
  feeCurrency: string;
  /** ms since the epoch */
  timestamp: number;
}

export type ExchangeOrderStatus = 'OPEN' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELLED' | 'REJECTED' | 'EXPIRED';

export interface ExchangeOrder {
  exchangeOrderId: string;
  clientOrderId: string;
  status: ExchangeOrderStatus;
  filledQuantity: string;
  averagePrice: string | null;
  fills: ExchangeFill[];
}

export interface ExchangeBalance {
  asset: string;
  free: string;
  used: string;
  total: string;
}

export interface ExchangeMarket {
  symbol: string;
  base: string;
  quote: string;
  minQuantity: string | null;
  minNotional: string | null;
  quantityStep: string | null;
  priceStep: string | null;
}

export interface ExchangeAdapter {
  readonly exchangeId: string;
  /** True when the exchange takes `type` itself (from ccxt's `exchange.features` / `has`); otherwise our engine emulates it. */
  supportsNatively(type: NativeOrderType): boolean;
  loadMarkets(): Promise<ExchangeMarket[]>;
  fetchBalances(): Promise<ExchangeBalance[]>;
  placeOrder(request: PlaceOrderRequest): Promise<ExchangeOrder>;
  fetchOrder(exchangeOrderId: string, symbol: string): Promise<ExchangeOrder>;
  cancelOrder(exchangeOrderId: string, symbol: string): Promise<ExchangeOrder>;
  close(): Promise<void>;
}

/**
 * Why an exchange call failed, in the terms the engine acts on: REJECTED (the exchange refused
 * this order: funds, filters, invalid; do not retry), UNAVAILABLE (timeout, network, maintenance;
 * the order's fate is unknown until fetched), AUTH (credentials refused).
 */
export type ExchangeErrorKind = 'REJECTED' | 'UNAVAILABLE' | 'AUTH';

export class ExchangeError extends Error {
  constructor(
    readonly kind: ExchangeErrorKind,
    message: string,
    readonly exchangeId: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ExchangeError';
  }
}
