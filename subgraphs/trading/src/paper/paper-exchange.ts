import type { TradeChange } from '../orders/trade-change';
import { Liquidity, TradeOrderStatus, type TradeOrderRecord } from '../orders/trade-order.model';
import type { FillRow } from '../orders/trade-order.store';
import { Decimal, type DecimalValue } from '../shared/decimal';
import { feeFor, type PaperTerms } from './paper-pricing';

/**
 * The paper exchange's bookkeeping on a TradeChange: reserving funds when an order opens, settling
 * a fill (reserved funds first, then free ones; the fee in the quote asset), releasing what is left
 * when an order ends. The balance rows themselves change when the change is written, where the
 * CHECK constraints refuse anything that would go negative.
 */

export interface PaperAccount extends PaperTerms {
  id: string;
}

/** Moves `amount` of `asset` from free to locked for `order` (on top of what it already holds). */
export function reserveFor(change: TradeChange, order: TradeOrderRecord, asset: string, amount: DecimalValue): void {
  const value = new Decimal(amount);
  if (value.isZero()) return;
  if (order.reservedAsset !== null && order.reservedAsset !== asset) throw new Error(`order ${order.id} already holds ${order.reservedAsset}`);
  change.balances(order.accountId).reserve(asset, value);
  order.reservedAsset = asset;
  order.reservedAmount = new Decimal(order.reservedAmount).plus(value).toFixed();
  change.touch(order);
}

/** Gives back whatever `order` still holds. */
export function releaseReservation(change: TradeChange, order: TradeOrderRecord): void {
  const held = new Decimal(order.reservedAmount);
  if (held.isZero() || order.reservedAsset === null) return;
  change.balances(order.accountId).release(order.reservedAsset, held);
  order.reservedAmount = '0';
  change.touch(order);
}

/** Moves `from`'s reservation onto `to` (an OCO pair shares one reservation; the leg that fires takes it). */
export function moveReservation(change: TradeChange, from: TradeOrderRecord, to: TradeOrderRecord): void {
  const held = new Decimal(from.reservedAmount);
  if (held.isZero() || from.reservedAsset === null) return;
  if (to.reservedAsset !== null && to.reservedAsset !== from.reservedAsset) throw new Error(`orders ${from.id} and ${to.id} reserve different assets`);
  to.reservedAsset = from.reservedAsset;
  to.reservedAmount = new Decimal(to.reservedAmount).plus(held).toFixed();
  from.reservedAmount = '0';
  change.touch(from);
  change.touch(to);
}

/**
 * One fill of `quantity` at `price` on a paper account: BUY pays notional + fee in the quote asset
 * and receives the base; SELL delivers the base and receives notional − fee. What the order reserved
 * is used first; anything beyond comes from the free balance (a stop that gapped past its
 * reference). The order becomes FILLED (releasing what it still holds) or PARTIALLY_FILLED.
 */
export function fillOnPaper(change: TradeChange, order: TradeOrderRecord, account: PaperAccount, fill: { quantity: DecimalValue; price: DecimalValue; liquidity: Liquidity }): FillRow {
  const quantity = new Decimal(fill.quantity);
  const price = new Decimal(fill.price);
  const notional = quantity.times(price);
  const fee = feeFor(notional, account.feeRate);
  const balances = change.balances(order.accountId);
  const pay = (asset: string, amount: Decimal): void => {
    const reserved = order.reservedAsset === asset ? new Decimal(order.reservedAmount) : new Decimal(0);
    const fromLocked = Decimal.min(reserved, amount);
    balances.add(asset, amount.minus(fromLocked).negated(), fromLocked.negated());
    if (!fromLocked.isZero()) order.reservedAmount = reserved.minus(fromLocked).toFixed();
  };
  if (order.side === 'BUY') {
    pay(order.quote, notional.plus(fee));
    balances.add(order.base, quantity);
  } else {
    pay(order.base, quantity);
    balances.add(order.quote, notional.minus(fee));
  }
  const row = change.addFill(order, {
    quantity: quantity.toFixed(),
    price: price.toFixed(),
    fee: fee.toFixed(),
    feeCurrency: order.quote,
    liquidity: fill.liquidity,
  });
  settleAfterFill(change, order);
  return row;
}

/** FILLED once nothing remains (then the leftover reservation goes back), else PARTIALLY_FILLED. */
export function settleAfterFill(change: TradeChange, order: TradeOrderRecord): void {
  if (new Decimal(order.filledQuantity).greaterThanOrEqualTo(order.quantity)) {
    releaseReservation(change, order);
    change.transition(order, TradeOrderStatus.FILLED);
  } else {
    change.transition(order, TradeOrderStatus.PARTIALLY_FILLED);
  }
}

export { Liquidity };
