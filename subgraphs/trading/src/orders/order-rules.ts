import { badInput } from '../../../kit/src';
import { withSlippage } from '../paper/paper-pricing';
import { Decimal, decimalPlaces } from '../shared/decimal';
import { ocoLegs, validateTwap } from './slicing';
import { type AttachedExits, type TradeOrderRecord, TradeOrderType, TradeSide } from './trade-order.model';
import { triggerLevel, validateTriggerSpec, type TriggerSpec } from './triggers';

/**
 * The rules of an order before anything is stored: which fields each type takes, decimals within
 * the instrument's, stops not already reached, OCO prices on the right side of the entry; and the
 * prices risk checks and reservations are computed from. Pure.
 */

export interface InstrumentInfo {
  symbol: string;
  base: string;
  quote: string;
  priceDecimals: number;
  amountDecimals: number;
}

/** What a client asked for, as the input carries it. */
export interface OrderRequest {
  clientOrderId: string;
  symbol: string;
  side: TradeSide;
  type: TradeOrderType;
  quantity: string;
  price?: string | null;
  stopPrice?: string | null;
  trailingPercent?: string | null;
  trailingAmount?: string | null;
  activationPrice?: string | null;
  visibleQuantity?: string | null;
  twapDurationMs?: number | null;
  twapSlices?: number | null;
  takeProfitPrice?: string | null;
  stopLossPrice?: string | null;
}

/** An order that passed every rule: only the fields its type uses are set. */
export interface OrderPlan {
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
  activationPrice: string | null;
  visibleQuantity: string | null;
  twapDurationMs: number | null;
  twapSlices: number | null;
  exits: AttachedExits | null;
}

export interface PlanLimits {
  twapMinIntervalMs: number;
  twapMaxDurationMs: number;
}

type Field = 'price' | 'stopPrice' | 'trailingPercent' | 'trailingAmount' | 'activationPrice' | 'visibleQuantity' | 'twapDurationMs' | 'twapSlices';

/** The fields each type requires; every other field of the list must be absent. */
const FIELDS: Record<TradeOrderType, { required: Field[]; optional: Field[] }> = {
  MARKET: { required: [], optional: [] },
  LIMIT: { required: ['price'], optional: [] },
  STOP_MARKET: { required: ['stopPrice'], optional: [] },
  STOP_LIMIT: { required: ['stopPrice', 'price'], optional: [] },
  TAKE_PROFIT: { required: ['stopPrice'], optional: ['price'] },
  TRAILING_STOP: { required: [], optional: ['trailingPercent', 'trailingAmount', 'activationPrice'] },
  ICEBERG: { required: ['price', 'visibleQuantity'], optional: [] },
  TWAP: { required: ['twapDurationMs', 'twapSlices'], optional: [] },
};

const ALL_FIELDS: Field[] = ['price', 'stopPrice', 'trailingPercent', 'trailingAmount', 'activationPrice', 'visibleQuantity', 'twapDurationMs', 'twapSlices'];
const present = <T>(value: T | null | undefined): value is T => value !== null && value !== undefined;

function positive(field: string, value: string, maxDecimals: number | null): string {
  if (!/^\d+(\.\d+)?$/.test(value) || new Decimal(value).isZero()) throw badInput(`${field} must be a positive decimal string such as "0.5"`, field);
  if (maxDecimals !== null && decimalPlaces(value) > maxDecimals) throw badInput(`${field} has more than ${maxDecimals} decimals for this instrument`, field);
  return new Decimal(value).toFixed();
}

/** The trigger an order's type watches for (null for MARKET, LIMIT, ICEBERG and TWAP, which have none). */
export function triggerSpecOf(
  order: Pick<TradeOrderRecord, 'type' | 'side' | 'price' | 'stopPrice' | 'trailingPercent' | 'trailingAmount' | 'activationPrice'>,
): TriggerSpec | null {
  switch (order.type) {
    case TradeOrderType.STOP_MARKET:
      return { type: 'STOP_MARKET', side: order.side, stopPrice: order.stopPrice! };
    case TradeOrderType.STOP_LIMIT:
      return { type: 'STOP_LIMIT', side: order.side, stopPrice: order.stopPrice!, limitPrice: order.price! };
    case TradeOrderType.TAKE_PROFIT:
      return { type: 'TAKE_PROFIT', side: order.side, triggerPrice: order.stopPrice!, ...(order.price ? { limitPrice: order.price } : {}) };
    case TradeOrderType.TRAILING_STOP:
      return {
        type: 'TRAILING_STOP',
        side: order.side,
        ...(order.trailingPercent ? { trailingPercent: order.trailingPercent } : {}),
        ...(order.trailingAmount ? { trailingAmount: order.trailingAmount } : {}),
        ...(order.activationPrice ? { activationPrice: order.activationPrice } : {}),
      };
    default:
      return null;
  }
}

/** Checks a request against the instrument and the last price; BAD_USER_INPUT names the first problem. */
export function planOrder(request: OrderRequest, instrument: InstrumentInfo, lastPrice: string, limits: PlanLimits): OrderPlan {
  const { type, side } = request;
  if (request.symbol !== instrument.symbol) throw badInput(`unknown instrument ${request.symbol}`, 'symbol');
  const rule = FIELDS[type];
  for (const field of ALL_FIELDS) {
    const given = present(request[field]);
    if (rule.required.includes(field) && !given) throw badInput(`${type} orders need ${field}`, field);
    if (given && !rule.required.includes(field) && !rule.optional.includes(field)) throw badInput(`${field} does not apply to ${type} orders`, field);
  }
  const quantity = positive('quantity', request.quantity, instrument.amountDecimals);
  const price = present(request.price) ? positive('price', request.price, instrument.priceDecimals) : null;
  const stopPrice = present(request.stopPrice) ? positive('stopPrice', request.stopPrice, instrument.priceDecimals) : null;
  const trailingPercent = present(request.trailingPercent) ? positive('trailingPercent', request.trailingPercent, 4) : null;
  const trailingAmount = present(request.trailingAmount) ? positive('trailingAmount', request.trailingAmount, instrument.priceDecimals) : null;
  const activationPrice = present(request.activationPrice) ? positive('activationPrice', request.activationPrice, instrument.priceDecimals) : null;
  const visibleQuantity = present(request.visibleQuantity) ? positive('visibleQuantity', request.visibleQuantity, instrument.amountDecimals) : null;

  if (type === TradeOrderType.ICEBERG && new Decimal(visibleQuantity!).greaterThanOrEqualTo(quantity)) {
    throw badInput('visibleQuantity must be below quantity (otherwise it is a LIMIT order)', 'visibleQuantity');
  }
  let twapDurationMs: number | null = null;
  let twapSlices: number | null = null;
  if (type === TradeOrderType.TWAP) {
    twapDurationMs = request.twapDurationMs!;
    twapSlices = request.twapSlices!;
    if (twapDurationMs > limits.twapMaxDurationMs) throw badInput(`twapDurationMs must be at most ${limits.twapMaxDurationMs}`, 'twapDurationMs');
    if (twapSlices > 1 && twapDurationMs / twapSlices < limits.twapMinIntervalMs) {
      throw badInput(`TWAP slices must be at least ${limits.twapMinIntervalMs} ms apart (twapDurationMs / twapSlices)`, 'twapSlices');
    }
    const reason = validateTwap({ quantity, slices: twapSlices, durationMs: twapDurationMs, startAt: 0, step: new Decimal(10).pow(-instrument.amountDecimals).toFixed() });
    if (reason) throw badInput(reason, 'twapSlices');
  }
  if (type === TradeOrderType.TRAILING_STOP && present(trailingPercent) === present(trailingAmount)) {
    throw badInput('TRAILING_STOP orders need exactly one of trailingPercent and trailingAmount', 'trailingPercent');
  }

  const plan: OrderPlan = {
    clientOrderId: request.clientOrderId,
    symbol: instrument.symbol,
    base: instrument.base,
    quote: instrument.quote,
    side,
    type,
    quantity,
    price,
    stopPrice,
    trailingPercent,
    trailingAmount,
    activationPrice,
    visibleQuantity,
    twapDurationMs,
    twapSlices,
    exits: null,
  };
  const spec = triggerSpecOf(plan);
  if (spec) {
    const reason = validateTriggerSpec(spec);
    if (reason) throw badInput(reason, 'stopPrice');
    // A level the price is already at would fire at once: the client meant something else (as exchanges refuse it).
    const level = triggerLevel(spec);
    if (level) {
      const reached = level.direction === 'UP' ? new Decimal(lastPrice).greaterThanOrEqualTo(level.level) : new Decimal(lastPrice).lessThanOrEqualTo(level.level);
      if (reached) {
        throw badInput(`stopPrice ${level.level} is already reached (last price ${lastPrice}): it must be ${level.direction === 'UP' ? 'above' : 'below'} the last price`, 'stopPrice');
      }
    }
  }

  if (present(request.takeProfitPrice) || present(request.stopLossPrice)) {
    const takeProfit = present(request.takeProfitPrice) ? positive('takeProfitPrice', request.takeProfitPrice, instrument.priceDecimals) : null;
    const stopLoss = present(request.stopLossPrice) ? positive('stopLossPrice', request.stopLossPrice, instrument.priceDecimals) : null;
    const legs = ocoLegs({ parentSide: side, quantity, entryPrice: entryEstimate(plan, lastPrice), takeProfit, stopLoss });
    if ('error' in legs) throw badInput(legs.error.replace(/^takeProfit/, 'takeProfitPrice').replace(/^stopLoss/, 'stopLossPrice'), takeProfit ? 'takeProfitPrice' : 'stopLossPrice');
    plan.exits = { takeProfit, stopLoss };
  }
  return plan;
}

/** Where the order is expected to fill, to place its attached exits around. */
export function entryEstimate(plan: Pick<OrderPlan, 'type' | 'price' | 'stopPrice'>, lastPrice: string): string {
  if (plan.price !== null && plan.type !== TradeOrderType.TAKE_PROFIT) return plan.price;
  if (plan.stopPrice !== null) return plan.price ?? plan.stopPrice;
  return lastPrice;
}

/**
 * The price the order is expected to trade at, for risk checks: its limit, else its trigger, else
 * the last price (a BUY trailing stop: the last price plus its distance, where it would trigger).
 */
export function referencePrice(plan: Pick<OrderPlan, 'type' | 'side' | 'price' | 'stopPrice' | 'trailingPercent' | 'trailingAmount'>, lastPrice: string): Decimal {
  if (plan.price !== null) return new Decimal(plan.price);
  if (plan.stopPrice !== null) return new Decimal(plan.stopPrice);
  if (plan.type === TradeOrderType.TRAILING_STOP && plan.side === TradeSide.BUY) {
    return plan.trailingPercent !== null
      ? new Decimal(lastPrice).times(new Decimal(1).plus(new Decimal(plan.trailingPercent).div(100)))
      : new Decimal(lastPrice).plus(plan.trailingAmount!);
  }
  return new Decimal(lastPrice);
}

/** Types that fill as a taker at the market once they work (so a BUY reserves with slippage on top). */
export const executesAtMarket = (plan: Pick<OrderPlan, 'type' | 'price'>): boolean =>
  plan.type === TradeOrderType.MARKET ||
  plan.type === TradeOrderType.STOP_MARKET ||
  plan.type === TradeOrderType.TRAILING_STOP ||
  plan.type === TradeOrderType.TWAP ||
  (plan.type === TradeOrderType.TAKE_PROFIT && plan.price === null);

/**
 * What a paper order locks while it works: a SELL its base quantity; a BUY quantity × reference
 * price (with slippage when it fills at market) plus the fee, in the quote asset. A fill that costs
 * more (a stop that gapped) takes the difference from the free balance.
 */
export function paperReservation(
  plan: Pick<OrderPlan, 'type' | 'side' | 'price' | 'stopPrice' | 'trailingPercent' | 'trailingAmount' | 'quantity' | 'base' | 'quote'>,
  lastPrice: string,
  terms: { feeRate: string; slippageBps: string },
): { asset: string; amount: string } {
  if (plan.side === TradeSide.SELL) return { asset: plan.base, amount: plan.quantity };
  const reference = referencePrice(plan, lastPrice);
  const price = executesAtMarket(plan) ? withSlippage(reference, terms.slippageBps) : reference;
  const amount = new Decimal(plan.quantity).times(price).times(new Decimal(1).plus(terms.feeRate)).toDecimalPlaces(10, Decimal.ROUND_UP);
  return { asset: plan.quote, amount: amount.toFixed() };
}
