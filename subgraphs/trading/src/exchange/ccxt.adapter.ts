import * as ccxt from 'ccxt';
import { Decimal } from 'decimal.js';
import type { Logger } from 'pino';
import { replaceApiUrls, type ApiUrls } from './api-urls';
import {
  ExchangeError,
  type ExchangeAdapter,
  type ExchangeBalance,
  type ExchangeCredentials,
  type ExchangeFill,
  type ExchangeMarket,
  type ExchangeOrder,
  type ExchangeOrderStatus,
  type NativeOrderType,
  type PlaceOrderRequest,
} from './exchange-adapter';

type Exchange = ccxt.Exchange;
// Precision modes: exported at runtime, missing from the package's named-export types.
const { TICK_SIZE, DECIMAL_PLACES } = ccxt as unknown as Record<'TICK_SIZE' | 'DECIMAL_PLACES', number>;
type ExchangeClass = new (config?: Record<string, unknown>) => Exchange;

export interface CcxtAdapterOptions {
  /** ccxt exchange id, e.g. `binance`. */
  exchangeId: string;
  credentials: ExchangeCredentials;
  /** A request unanswered this long is given up (UNAVAILABLE: the order's fate is then unknown). */
  timeoutMs: number;
  /** Entries replacing the exchange's `urls.api` (tests point ccxt at a local server speaking the exchange's API). */
  apiUrls?: ApiUrls;
  /** More ccxt constructor options, merged over the adapter's own. */
  exchangeOptions?: Record<string, unknown>;
  log: Logger;
}

export interface CcxtExchangeAdapter extends ExchangeAdapter {
  /**
   * The order the exchange has under our client order id, or null when it has none. After
   * placeOrder failed UNAVAILABLE, call this before placing again: the request may have reached the
   * exchange. Binance keeps client order ids unique among open orders only, so a filled order placed
   * again under the same id would trade twice.
   */
  recoverOrder(clientOrderId: string, symbol: string): Promise<ExchangeOrder | null>;
}

/** How one of our order types is sent through ccxt's unified createOrder. */
interface OrderCall {
  type: 'market' | 'limit';
  price?: string;
  params: Record<string, string>;
}

/** Keys of a ccxt balance that are not currencies. */
const BALANCE_KEYS = new Set(['info', 'free', 'used', 'total', 'debt', 'timestamp', 'datetime']);

/** A decimal string from what ccxt returns (strings here, as the adapter sets `exchange.number = String`). */
const decimalOf = (value: unknown): string | null => {
  if (value === undefined || value === null || value === '') return null;
  try {
    const decimal = new Decimal(String(value));
    return decimal.isFinite() ? decimal.toFixed() : null;
  } catch {
    return null;
  }
};

const rejected = (exchangeId: string, message: string): ExchangeError => new ExchangeError('REJECTED', `${exchangeId}: ${message}`, exchangeId);

/**
 * REJECTED for what the exchange refused (funds, filters, invalid or unknown orders, bad requests),
 * AUTH for refused credentials, UNAVAILABLE for everything whose outcome is unknown: timeouts,
 * network, maintenance, rate limits, garbled answers, and errors ccxt does not classify.
 */
function kindOf(error: unknown): ExchangeError['kind'] {
  if (error instanceof ccxt.AuthenticationError) return 'AUTH';
  if (error instanceof ccxt.OperationFailed) return 'UNAVAILABLE';
  if (error instanceof ccxt.ExchangeError) return 'REJECTED';
  return 'UNAVAILABLE';
}

/** The exchange's own words: ccxt prefixes its id and often embeds the JSON body, e.g. `{"code":-2010,"msg":"..."}`. */
function exchangeMessage(error: unknown, exchangeId: string): string {
  const text = error instanceof Error ? error.message : String(error);
  const json = /\{.*\}/s.exec(text);
  if (json) {
    try {
      const body = JSON.parse(json[0]) as Record<string, unknown>;
      for (const key of ['msg', 'message', 'error']) {
        if (typeof body[key] === 'string' && body[key]) return body[key] as string;
      }
    } catch {
      // Not JSON after all: keep the whole text.
    }
  }
  return text.startsWith(`${exchangeId} `) ? text.slice(exchangeId.length + 1) : text;
}

/**
 * An ExchangeAdapter over ccxt's unified API, spot markets only. Prices and quantities travel as
 * decimal strings both ways: ccxt parses the exchange's answers into strings (`exchange.number =
 * String`) and formats ours with its own string arithmetic. Quantities and prices off the market's
 * step are refused here rather than silently truncated by ccxt. Errors become ExchangeError; the
 * credentials never appear in their messages or in the log (URLs lose their query strings too).
 */
export function createCcxtAdapter(options: CcxtAdapterOptions): CcxtExchangeAdapter {
  const { exchangeId, credentials } = options;
  const log = options.log.child({ component: 'ccxt-adapter', exchange: exchangeId });
  const Class = (ccxt as unknown as Record<string, ExchangeClass | undefined>)[exchangeId];
  // Typed as a map of classes, shipped as the list of ids.
  const known: unknown = ccxt.exchanges;
  const ids = Array.isArray(known) ? (known as string[]) : Object.keys(known as object);
  if (!ids.includes(exchangeId) || typeof Class !== 'function') throw new Error(`ccxt has no exchange "${exchangeId}"`);
  const exchange = new Class({
    enableRateLimit: true,
    timeout: options.timeoutMs,
    apiKey: credentials.apiKey,
    secret: credentials.secret,
    ...(credentials.password ? { password: credentials.password } : {}),
    ...options.exchangeOptions,
    options: {
      defaultType: 'spot',
      // Spot only: no futures markets, no private currency or margin calls on loadMarkets.
      fetchMarkets: { types: ['spot'] },
      fetchCurrencies: false,
      fetchMargins: false,
      ...(options.exchangeOptions?.options as Record<string, unknown> | undefined),
    },
  });
  // Parsed numbers stay decimal strings: no float ever reaches a price or a quantity.
  (exchange as unknown as { number: unknown }).number = String;
  if (options.apiUrls) replaceApiUrls(exchange, options.apiUrls);

  const secrets = [credentials.apiKey, credentials.secret, credentials.password].filter((value): value is string => typeof value === 'string' && value.length >= 4);
  const redact = (text: string): string => {
    let clean = text.replace(/(https?:\/\/[^\s?"']+)\?[^\s"']*/g, '$1');
    for (const secret of secrets) clean = clean.split(secret).join('[redacted]');
    return clean;
  };

  /** ExchangeError from anything a ccxt call threw; the cause keeps ccxt's class name and a redacted message. */
  const failure = (error: unknown): ExchangeError => {
    if (error instanceof ExchangeError) return error;
    const cause = new Error(redact(error instanceof Error ? error.message : String(error)));
    cause.name = error instanceof Error ? error.name : 'Error';
    return new ExchangeError(kindOf(error), `${exchangeId}: ${redact(exchangeMessage(error, exchangeId))}`, exchangeId, { cause });
  };

  /** Runs a ccxt call; failures are logged (redacted) and thrown as ExchangeError. */
  const call = async <T>(action: string, context: Record<string, unknown>, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      const mapped = failure(error);
      log.warn({ action, ...context, kind: mapped.kind, reason: mapped.message, cause: (mapped.cause as Error | undefined)?.name }, 'exchange call failed');
      throw mapped;
    }
  };

  const createOrderFeatures = (): Record<string, unknown> | undefined => {
    const spot = exchange.features?.spot as Record<string, unknown> | undefined;
    return spot?.createOrder as Record<string, unknown> | undefined;
  };

  const supportsNatively = (type: NativeOrderType): boolean => {
    const features = createOrderFeatures();
    if (exchange.has.createOrder !== true || !features) return false;
    switch (type) {
      case 'MARKET':
        return exchange.has.createMarketOrder !== false;
      case 'LIMIT':
        return exchange.has.createLimitOrder !== false;
      case 'STOP_MARKET':
      case 'STOP_LIMIT':
        return features.stopLossPrice === true;
      case 'TAKE_PROFIT':
        return features.takeProfitPrice === true;
      case 'TRAILING_STOP':
        return features.trailing === true;
      case 'ICEBERG':
        // ccxt names this feature `iceberg` for most exchanges and `icebergAmount` for binance spot.
        return features.iceberg === true || features.icebergAmount === true;
    }
  };

  const orderCall = (request: PlaceOrderRequest): OrderCall => {
    const need = (field: 'price' | 'stopPrice' | 'visibleQuantity'): string => {
      const value = request[field];
      if (value === undefined || value === '') throw rejected(exchangeId, `${request.type} orders need ${field}`);
      return value;
    };
    switch (request.type) {
      case 'MARKET':
        return { type: 'market', params: {} };
      case 'LIMIT':
        return { type: 'limit', price: need('price'), params: {} };
      case 'STOP_MARKET':
        return { type: 'market', params: { stopLossPrice: need('stopPrice') } };
      case 'STOP_LIMIT':
        return { type: 'limit', price: need('price'), params: { stopLossPrice: need('stopPrice') } };
      case 'TAKE_PROFIT':
        return request.price
          ? { type: 'limit', price: request.price, params: { takeProfitPrice: need('stopPrice') } }
          : { type: 'market', params: { takeProfitPrice: need('stopPrice') } };
      case 'TRAILING_STOP':
        if ((request.trailingPercent === undefined) === (request.trailingAmount === undefined)) {
          throw rejected(exchangeId, 'TRAILING_STOP orders need exactly one of trailingPercent and trailingAmount');
        }
        return {
          type: 'market',
          params: {
            ...(request.trailingPercent !== undefined ? { trailingPercent: request.trailingPercent } : { trailingAmount: request.trailingAmount! }),
            ...(request.activationPrice !== undefined ? { trailingTriggerPrice: request.activationPrice } : {}),
          },
        };
      case 'ICEBERG':
        return { type: 'limit', price: need('price'), params: { icebergAmount: need('visibleQuantity') } };
    }
  };

  /** `value` as ccxt would send it, refused when that is not exactly `value` (off the step, or not a positive decimal). */
  const fitted = (symbol: string, label: string, value: string, kind: 'amount' | 'price'): string => {
    if (!/^\d+(\.\d+)?$/.test(value) || new Decimal(value).isZero()) throw rejected(exchangeId, `${label} must be a positive decimal, got "${value}"`);
    const sent = String(kind === 'amount' ? exchange.amountToPrecision(symbol, value as unknown as number) : exchange.priceToPrecision(symbol, value as unknown as number));
    if (!new Decimal(sent).eq(value)) {
      const step = decimalOf(exchange.market(symbol).precision?.[kind]);
      throw rejected(exchangeId, `${label} ${value} does not fit ${symbol}'s ${kind === 'amount' ? 'quantity' : 'price'} step${step === null ? '' : ` ${step}`}`);
    }
    return sent;
  };

  const statusOf = (order: ccxt.Order, filled: Decimal): ExchangeOrderStatus => {
    switch (order.status) {
      case 'closed':
        return 'FILLED';
      case 'canceled':
        return 'CANCELLED';
      case 'rejected':
        return 'REJECTED';
      case 'expired':
        return 'EXPIRED';
      default:
        // open, or an exchange-specific state such as `canceling`: still working.
        return filled.gt(0) ? 'PARTIALLY_FILLED' : 'OPEN';
    }
  };

  const fillOf = (trade: ccxt.Trade, fallbackTime: number): ExchangeFill => ({
    tradeId: String(trade.id),
    price: decimalOf(trade.price) ?? '0',
    quantity: decimalOf(trade.amount) ?? '0',
    fee: decimalOf(trade.fee?.cost) ?? '0',
    feeCurrency: trade.fee?.currency ?? '',
    timestamp: typeof trade.timestamp === 'number' ? trade.timestamp : fallbackTime,
  });

  /** Our view of a ccxt order, with its fills: those the answer carried, else fetched when anything filled. */
  const toOrder = async (order: ccxt.Order, symbol: string, clientOrderId?: string): Promise<ExchangeOrder> => {
    const filled = new Decimal(decimalOf(order.filled) ?? '0');
    const time = order.lastTradeTimestamp ?? order.timestamp ?? Date.now();
    let trades: ccxt.Trade[] = order.trades ?? [];
    const carried = trades.reduce((sum, trade) => sum.plus(decimalOf(trade.amount) ?? '0'), new Decimal(0));
    if (filled.gt(0) && !carried.eq(filled)) {
      trades = exchange.has.fetchOrderTrades
        ? await exchange.fetchOrderTrades(String(order.id), symbol)
        : (await exchange.fetchMyTrades(symbol, order.timestamp)).filter((trade) => trade.order === order.id);
    }
    const info = (order.info ?? {}) as Record<string, unknown>;
    // A cancel answer's clientOrderId names the cancel request; the order's own is `origClientOrderId` (binance).
    const ownClientId = typeof info.origClientOrderId === 'string' ? info.origClientOrderId : order.clientOrderId;
    return {
      exchangeOrderId: String(order.id),
      clientOrderId: ownClientId ?? clientOrderId ?? '',
      status: statusOf(order, filled),
      filledQuantity: filled.toFixed(),
      averagePrice: filled.gt(0) ? (decimalOf(order.average) ?? (decimalOf(order.cost) === null ? null : new Decimal(decimalOf(order.cost)!).div(filled).toFixed())) : null,
      fills: trades.map((trade) => fillOf(trade, time)),
    };
  };

  const isOrderNotFound = (error: unknown): boolean => error instanceof ExchangeError && (error.cause as Error | undefined)?.name === 'OrderNotFound';

  const recoverOrder = async (clientOrderId: string, symbol: string): Promise<ExchangeOrder | null> => {
    try {
      return await call('recoverOrder', { clientOrderId, symbol }, async () => {
        await exchange.loadMarkets();
        // The id is unused when a client order id is given (binance sends origClientOrderId).
        const order = await exchange.fetchOrder('', symbol, { clientOrderId });
        return toOrder(order, symbol, clientOrderId);
      });
    } catch (error) {
      if (isOrderNotFound(error)) return null;
      throw error;
    }
  };

  const fetchOrder = (exchangeOrderId: string, symbol: string): Promise<ExchangeOrder> =>
    call('fetchOrder', { exchangeOrderId, symbol }, async () => toOrder(await exchange.fetchOrder(exchangeOrderId, symbol), symbol));

  return {
    exchangeId,
    supportsNatively,
    recoverOrder,
    fetchOrder,

    loadMarkets: () =>
      call('loadMarkets', {}, async () => {
        const markets = await exchange.loadMarkets(true);
        const step = (value: unknown): string | null => {
          const raw = decimalOf(value);
          if (raw === null) return null;
          if (exchange.precisionMode === TICK_SIZE) return raw;
          if (exchange.precisionMode === DECIMAL_PLACES) return new Decimal(10).pow(-Number(raw)).toFixed();
          return null; // significant digits: no fixed step
        };
        return Object.values(markets)
          .filter((market): market is NonNullable<typeof market> => market !== undefined && market.spot === true && market.active !== false)
          .map((market): ExchangeMarket => ({
            symbol: market.symbol,
            base: market.base,
            quote: market.quote,
            minQuantity: decimalOf(market.limits?.amount?.min),
            minNotional: decimalOf(market.limits?.cost?.min),
            quantityStep: step(market.precision?.amount),
            priceStep: step(market.precision?.price),
          }))
          .sort((a, b) => a.symbol.localeCompare(b.symbol));
      }),

    fetchBalances: () =>
      call('fetchBalances', {}, async () => {
        const balance = (await exchange.fetchBalance()) as unknown as Record<string, { free?: unknown; used?: unknown; total?: unknown }>;
        return Object.entries(balance)
          .filter(([asset]) => !BALANCE_KEYS.has(asset))
          .map(([asset, entry]): ExchangeBalance => {
            const free = decimalOf(entry.free) ?? '0';
            const used = decimalOf(entry.used) ?? '0';
            return { asset, free, used, total: decimalOf(entry.total) ?? new Decimal(free).plus(used).toFixed() };
          })
          // Exchanges list every asset they know; only held ones matter.
          .filter((entry) => !new Decimal(entry.total).isZero())
          .sort((a, b) => a.asset.localeCompare(b.asset));
      }),

    placeOrder: async (request) => {
      const { clientOrderId, symbol } = request;
      const context = { clientOrderId, symbol, side: request.side, type: request.type };
      try {
        const order = await call('placeOrder', context, async () => {
          if (!supportsNatively(request.type)) {
            throw rejected(exchangeId, `${exchangeId} does not take ${request.type} orders natively; the engine emulates them`);
          }
          const shape = orderCall(request);
          await exchange.loadMarkets();
          const quantity = fitted(symbol, 'quantity', request.quantity, 'amount');
          const price = shape.price === undefined ? undefined : fitted(symbol, 'price', shape.price, 'price');
          const params: Record<string, string> = { clientOrderId };
          for (const [name, value] of Object.entries(shape.params)) {
            params[name] = name === 'icebergAmount' ? fitted(symbol, 'visibleQuantity', value, 'amount') : name.endsWith('Price') ? fitted(symbol, 'stopPrice', value, 'price') : value;
          }
          const created = await exchange.createOrder(symbol, shape.type, request.side === 'BUY' ? 'buy' : 'sell', quantity as unknown as number, price as unknown as number | undefined, params);
          return toOrder(created, symbol, clientOrderId);
        });
        log.info({ ...context, exchangeOrderId: order.exchangeOrderId, status: order.status, filled: order.filledQuantity }, 'order placed');
        return order;
      } catch (error) {
        // The same client order id is still open there: this is a retry of an order the exchange has.
        if (error instanceof ExchangeError && error.kind === 'REJECTED' && /duplicate/i.test(error.message)) {
          const existing = await recoverOrder(clientOrderId, symbol);
          if (existing) {
            log.info({ ...context, exchangeOrderId: existing.exchangeOrderId }, 'order already placed under this client order id');
            return existing;
          }
        }
        throw error;
      }
    },

    cancelOrder: async (exchangeOrderId, symbol) => {
      try {
        const order = await call('cancelOrder', { exchangeOrderId, symbol }, async () => toOrder(await exchange.cancelOrder(exchangeOrderId, symbol), symbol));
        log.info({ exchangeOrderId, symbol, status: order.status }, 'order cancelled');
        return order;
      } catch (error) {
        if (!isOrderNotFound(error)) throw error;
        // Binance answers "Unknown order" for an order that filled or ended before the cancel: report how it ended.
        const order = await fetchOrder(exchangeOrderId, symbol);
        if (order.status === 'OPEN' || order.status === 'PARTIALLY_FILLED') throw error;
        return order;
      }
    },

    close: async () => {
      await exchange.close();
    },
  };
}
