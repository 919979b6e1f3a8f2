import { randomUUID } from 'node:crypto';
import { sqlQuery, type EntityManager } from '../../../kit/src';
import { currentTraceparent } from '../../../kit/src/tracing';
import { BalanceDeltas, InsufficientBalanceError } from '../paper/paper-ledger';
import { utcDay, type PositionFill } from '../risk/positions';
import type { RiskExposure } from '../risk/risk';
import { Decimal } from '../shared/decimal';
import { isLive, type Liquidity, type TradeOrderRecord, type TradeOrderStatus } from './trade-order.model';
import { fillExecutedEvent, TRADING_EVENT_SOURCE, tradeOrderUpdatedEvent } from './trade-order.outbox';
import { rowOfRecord, type FillRow, type HistoryRow } from './trade-order.store';

/** The order placed under a client order id that another request placed first (that one committed). */
export class DuplicateClientOrderIdError extends Error {
  constructor(
    readonly userId: string,
    readonly clientOrderId: string,
  ) {
    super(`client order id ${clientOrderId} is taken`);
    this.name = 'DuplicateClientOrderIdError';
  }
}

/** A placement's account is gone: unknown, another user's, or unlinked (seen under the lock the order takes). */
export class AccountUnavailableError extends Error {
  constructor(readonly accountId: string) {
    super(`account ${accountId} takes no orders`);
    this.name = 'AccountUnavailableError';
  }
}

/** A placement breached a risk limit that depends on the account; `exposure` is what the check read. */
export class RiskExposureError extends Error {
  constructor(readonly exposure: RiskExposure) {
    super('risk limit breached');
    this.name = 'RiskExposureError';
  }
}

/** A changed order was at another version than the one the change was computed from (written meanwhile). */
export class StaleOrderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StaleOrderError';
  }
}

/** What a placement checks in its statement before anything is written (null limits are not checked). */
export interface PlacementGuard {
  userId: string;
  clientOrderId: string;
  accountId: string;
  symbol: string;
  quantity: string;
  /** The price the risk checks value the order at. */
  referencePrice: string;
  dailyLossLimit: string | null;
  /** Only for a BUY: selling never breaches it. */
  maxPositionNotional: string | null;
}

/** The functions of Migration0003OrderWrites. */
const PLACE_SQL = `select "trade_order_place"($1::jsonb, $2, $3, $4::uuid, $5, $6::numeric, $7::numeric, $8::date, $9::numeric, $10::numeric)`;
const APPLY_SQL = `select "trade_change_apply"($1::jsonb)`;

const sqlState = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

export interface NewFill {
  quantity: string;
  price: string;
  fee: string;
  feeCurrency: string;
  /** A fee in a third asset (a real exchange's BNB), valued in the quote; null or absent when no price of that asset is known. */
  feeInQuote?: string | null;
  liquidity: Liquidity;
  exchangeTradeId?: string | null;
  executedAt?: Date;
}

/** A fill's fee in the order's quote asset: as is, at the fill's price for a base-asset fee, else as the caller valued it (or null). */
export function feeValueInQuote(order: Pick<TradeOrderRecord, 'base' | 'quote'>, fill: Pick<NewFill, 'fee' | 'feeCurrency' | 'feeInQuote' | 'price'>): string | null {
  if (fill.feeCurrency === order.quote) return fill.fee;
  if (fill.feeCurrency === order.base) return new Decimal(fill.fee).times(fill.price).toFixed();
  return fill.feeInQuote ?? null;
}

/**
 * Everything one transaction does to orders, collected in memory and then written in one statement
 * (`write`, `place`): new orders, changed orders (at the version they were read at), fills,
 * history, paper balance deltas, positions and PnL, and the outbox events (a FillExecuted per fill,
 * then one TradeOrderUpdated per order changed, carrying the state the transaction leaves it in).
 */
export class TradeChange {
  readonly at: Date;
  private readonly created: TradeOrderRecord[] = [];
  private readonly touched = new Map<string, TradeOrderRecord>();
  private readonly deltas = new Map<string, BalanceDeltas>();
  private readonly fills: { order: TradeOrderRecord; fill: FillRow }[] = [];
  private readonly history: HistoryRow[] = [];
  private readonly positions: PositionFill[] = [];

  constructor(at: Date = new Date()) {
    this.at = at;
  }

  /** A new order; the change fails with DuplicateClientOrderIdError when its client order id is taken. */
  create(order: TradeOrderRecord): void {
    this.created.push(order);
    this.history.push({ orderId: order.id, status: order.status, filledQuantity: order.filledQuantity, reason: order.reason, at: this.at });
  }

  /** Marks an existing order as changed (written only if it is still at the version it was read at). */
  touch(order: TradeOrderRecord): void {
    order.updatedAt = this.at;
    if (!this.created.includes(order)) this.touched.set(order.id, order);
  }

  /** Moves an order to `status` (a fill that keeps it PARTIALLY_FILLED is recorded too), with history. */
  transition(order: TradeOrderRecord, status: TradeOrderStatus, reason: string | null = order.reason): void {
    order.status = status;
    order.reason = reason;
    if (!isLive(status)) order.closedAt = this.at;
    this.touch(order);
    this.history.push({ orderId: order.id, status, filledQuantity: order.filledQuantity, reason, at: this.at });
  }

  /** The balance deltas of a paper account in this transaction. */
  balances(accountId: string): BalanceDeltas {
    let deltas = this.deltas.get(accountId);
    if (!deltas) {
      deltas = new BalanceDeltas();
      this.deltas.set(accountId, deltas);
    }
    return deltas;
  }

  /** Records a fill and applies it to the order's quantities and average price (not its status, not balances). */
  addFill(order: TradeOrderRecord, fill: NewFill): FillRow {
    const row: FillRow = {
      id: randomUUID(),
      orderId: order.id,
      accountId: order.accountId,
      price: fill.price,
      quantity: fill.quantity,
      fee: fill.fee,
      feeCurrency: fill.feeCurrency,
      liquidity: fill.liquidity,
      exchangeTradeId: fill.exchangeTradeId ?? null,
      executedAt: fill.executedAt ?? this.at,
    };
    const before = new Decimal(order.filledQuantity);
    const after = before.plus(fill.quantity);
    const spent = new Decimal(order.averagePrice ?? 0).times(before).plus(new Decimal(fill.quantity).times(fill.price));
    order.filledQuantity = after.toFixed();
    order.averagePrice = spent.div(after).toDecimalPlaces(12, Decimal.ROUND_HALF_EVEN).toFixed();
    // Counted in the quote: a base-asset fee at the fill's price, a third asset's (BNB) as valued, or not at all when no price of it is known.
    const feeInQuote = feeValueInQuote(order, fill);
    if (feeInQuote !== null) order.feeTotal = new Decimal(order.feeTotal).plus(feeInQuote).toFixed();
    this.touch(order);
    this.fills.push({ order, fill: row });
    // A base-asset fee is taken from the base the account receives on a BUY and added to what it gives on a SELL.
    const baseFee = fill.feeCurrency === order.base ? fill.fee : '0';
    const positionQuantity = order.side === 'BUY' ? new Decimal(fill.quantity).minus(baseFee) : new Decimal(fill.quantity).plus(baseFee);
    this.positions.push({
      accountId: order.accountId,
      symbol: order.symbol,
      side: order.side,
      quantity: positionQuantity.toFixed(),
      price: fill.price,
      fee: feeInQuote ?? '0',
      at: row.executedAt,
    });
    return row;
  }

  /** Every order this transaction created or changed, in that order. */
  get orders(): TradeOrderRecord[] {
    return [...this.created, ...[...this.touched.values()].filter((order) => !this.created.includes(order))];
  }

  /**
   * Writes everything in one statement (`trade_change_apply`), inside the caller's transaction or
   * as its own: changed orders, new orders, fills, history, outbox events, balances, positions and
   * PnL. Throws DuplicateClientOrderIdError when a new order's client order id is taken,
   * InsufficientBalanceError when a paper balance would go below zero, StaleOrderError when a
   * changed order is no longer at the version it was read at.
   */
  async write(em: EntityManager): Promise<void> {
    if (this.isEmpty) return;
    try {
      await sqlQuery(em, APPLY_SQL, [this.payload()]);
    } catch (error) {
      throw this.refusal(error);
    }
    this.written();
  }

  /**
   * A placement in one statement and its own transaction (`trade_order_place`): the guard's checks,
   * then the write. Throws DuplicateClientOrderIdError (the client order id is taken, now or by a
   * request committing meanwhile), AccountUnavailableError, RiskExposureError,
   * InsufficientBalanceError; nothing is written then.
   */
  async place(em: EntityManager, guard: PlacementGuard): Promise<void> {
    try {
      await sqlQuery(em, PLACE_SQL, [
        this.payload(),
        guard.userId,
        guard.clientOrderId,
        guard.accountId,
        guard.symbol,
        guard.quantity,
        guard.referencePrice,
        utcDay(this.at),
        guard.dailyLossLimit,
        guard.maxPositionNotional,
      ]);
    } catch (error) {
      throw this.refusal(error, guard);
    }
    this.written();
  }

  private get isEmpty(): boolean {
    return this.created.length === 0 && this.touched.size === 0 && this.history.length === 0 && this.deltas.size === 0 && this.fills.length === 0;
  }

  /** The change as `trade_change_apply` takes it (snake_case rows, decimal strings, ISO dates). */
  private payload(): string {
    const events = [...this.fills.map(({ order, fill }) => fillExecutedEvent(order, fill)), ...this.orders.map(tradeOrderUpdatedEvent)];
    const traceparent = currentTraceparent();
    return JSON.stringify({
      at: this.at,
      source: TRADING_EVENT_SOURCE,
      created: this.created.map(rowOfRecord),
      updated: [...this.touched.values()].filter((order) => !this.created.includes(order)).map(rowOfRecord),
      fills: this.fills.map(({ fill }) => ({
        id: fill.id,
        order_id: fill.orderId,
        account_id: fill.accountId,
        price: fill.price,
        quantity: fill.quantity,
        fee: fill.fee,
        fee_currency: fill.feeCurrency,
        liquidity: fill.liquidity,
        exchange_trade_id: fill.exchangeTradeId,
        executed_at: fill.executedAt,
      })),
      history: this.history.map((entry) => ({ order_id: entry.orderId, status: entry.status, filled_quantity: entry.filledQuantity, reason: entry.reason, at: entry.at })),
      events: events.map((event) => ({ id: event.id ?? randomUUID(), type: event.type, occurred_at: event.occurredAt ?? this.at, subject: event.subject, data: event.data, traceparent })),
      balances: [...this.deltas].flatMap(([accountId, deltas]) =>
        deltas.entries().map((entry) => ({ account_id: accountId, asset: entry.asset, free: entry.free.toFixed(), locked: entry.locked.toFixed() })),
      ),
      positions: this.positions.map((fill) => ({
        account_id: fill.accountId,
        symbol: fill.symbol,
        side: fill.side,
        quantity: fill.quantity,
        price: fill.price,
        fee: fill.fee,
        day: utcDay(fill.at),
        at: fill.at,
      })),
    });
  }

  /** The database refused the change: the error the engine and the API understand. */
  private refusal(error: unknown, guard?: PlacementGuard): unknown {
    switch (sqlState(error)) {
      case 'TR001': {
        const first = this.created[0];
        return new DuplicateClientOrderIdError(guard?.userId ?? first?.userId ?? '', guard?.clientOrderId ?? first?.clientOrderId ?? '');
      }
      case 'TR002':
        return new AccountUnavailableError(guard?.accountId ?? '');
      case 'TR003':
        return new RiskExposureError(JSON.parse(String((error as { detail?: unknown }).detail)) as RiskExposure);
      case 'TR004': {
        const accountId = String((error as { detail?: unknown }).detail);
        const debited = (this.deltas.get(accountId)?.entries() ?? []).filter((entry) => entry.free.isNegative() || entry.locked.isNegative());
        return new InsufficientBalanceError(accountId, debited.map((entry) => entry.asset));
      }
      case 'TR005':
        return new StaleOrderError((error as Error).message);
      default:
        return error;
    }
  }

  /** Changed orders are one version on once written. */
  private written(): void {
    for (const order of this.touched.values()) if (!this.created.includes(order)) order.version += 1;
  }
}
