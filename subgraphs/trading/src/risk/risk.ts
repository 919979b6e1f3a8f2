import { AppError } from '../../../kit/src';
import { Decimal, plain, type DecimalValue } from '../shared/decimal';

/** Pre-trade limits in quote units; null: none. */
export interface RiskLimits {
  maxOrderNotional: string | null;
  maxPositionNotional: string | null;
  dailyLossLimit: string | null;
}

/** What the checks read about the account before an order leaves. */
export interface RiskExposure {
  /** Base quantity held in the instrument (from fills). */
  positionQuantity: string;
  /** Base quantity of live BUY orders on the instrument not yet filled. */
  openBuyQuantity: string;
  /** Realised PnL of the account today (UTC), in quote units; negative is a loss. */
  realizedToday: string;
}

/** An account with nothing held, open or lost: a breach even then needs no database to find. */
export const NO_EXPOSURE: RiskExposure = { positionQuantity: '0', openBuyQuantity: '0', realizedToday: '0' };

export interface RiskOrder {
  side: 'BUY' | 'SELL';
  quantity: string;
  /** The price the order is expected to trade at (limit, stop or last). */
  referencePrice: string;
}

export type RiskRule = 'MAX_ORDER_NOTIONAL' | 'MAX_POSITION_NOTIONAL' | 'DAILY_LOSS_LIMIT';

export interface RiskBreach {
  rule: RiskRule;
  limit: string;
  value: string;
  message: string;
}

const over = (value: DecimalValue, limit: string | null): boolean => limit !== null && new Decimal(value).greaterThan(limit);

/**
 * The first limit `order` would breach, or null. Checked in this order: the daily loss limit (once
 * the account lost that much today it places nothing more), the order's notional, then for a BUY
 * the position it could reach (held + open buys + this order, at the reference price). Selling
 * only reduces a spot position, so it never breaches the position limit.
 */
export function findRiskBreach(limits: RiskLimits, order: RiskOrder, exposure: RiskExposure): RiskBreach | null {
  const loss = Decimal.max(0, new Decimal(exposure.realizedToday).negated());
  if (limits.dailyLossLimit !== null && loss.greaterThanOrEqualTo(limits.dailyLossLimit) && !new Decimal(limits.dailyLossLimit).isZero()) {
    return {
      rule: 'DAILY_LOSS_LIMIT',
      limit: limits.dailyLossLimit,
      value: plain(loss),
      message: `The account lost ${plain(loss)} today, at or over its daily loss limit of ${limits.dailyLossLimit}; no new orders until tomorrow (UTC)`,
    };
  }
  const notional = new Decimal(order.quantity).times(order.referencePrice);
  if (over(notional, limits.maxOrderNotional)) {
    return {
      rule: 'MAX_ORDER_NOTIONAL',
      limit: limits.maxOrderNotional!,
      value: plain(notional),
      message: `Order notional ${plain(notional)} is over the limit of ${limits.maxOrderNotional} per order`,
    };
  }
  if (order.side === 'BUY') {
    const position = new Decimal(exposure.positionQuantity).plus(exposure.openBuyQuantity).plus(order.quantity).times(order.referencePrice);
    if (over(position, limits.maxPositionNotional)) {
      return {
        rule: 'MAX_POSITION_NOTIONAL',
        limit: limits.maxPositionNotional!,
        value: plain(position),
        message: `The position in this instrument could reach ${plain(position)}, over the limit of ${limits.maxPositionNotional}`,
      };
    }
  }
  return null;
}

/** RISK_LIMIT with the rule, the limit and the value that breached it. */
export const riskError = (breach: RiskBreach): AppError => new AppError('RISK_LIMIT', breach.message, { rule: breach.rule, limit: breach.limit, value: breach.value });
