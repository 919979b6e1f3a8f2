import type { EntityManager } from '../../../kit/src';
import type { Liquidity, TradeOrderRecord, TradeOrderStatus } from './trade-order.model';

/**
 * Raw SQL of the order paths: every change to an order happens on a row locked with
 * SELECT … FOR UPDATE inside one transaction (or in a placement's single statement), together with
 * its fills, history, balances and outbox events, written by the `trade_change_apply` function
 * (see TradeChange and Migration0003OrderWrites). Reads for the API go through the entities instead.
 */

/** An order as a `trade_order` row for `jsonb_populate_recordset` (snake_case, every column). */
export function rowOfRecord(order: TradeOrderRecord): Record<string, unknown> {
  return {
    id: order.id,
    user_id: order.userId,
    account_id: order.accountId,
    client_order_id: order.clientOrderId,
    symbol: order.symbol,
    base: order.base,
    quote: order.quote,
    side: order.side,
    type: order.type,
    quantity: order.quantity,
    price: order.price,
    stop_price: order.stopPrice,
    trailing_percent: order.trailingPercent,
    trailing_amount: order.trailingAmount,
    activation_price: order.activationPrice,
    visible_quantity: order.visibleQuantity,
    twap_duration_ms: order.twapDurationMs,
    twap_slices: order.twapSlices,
    exits: order.exits,
    parent_id: order.parentId,
    oco_group_id: order.ocoGroupId,
    oco_role: order.ocoRole,
    status: order.status,
    filled_quantity: order.filledQuantity,
    average_price: order.averagePrice,
    fee_total: order.feeTotal,
    reason: order.reason,
    execution: order.execution,
    trigger_state: order.triggerState,
    reserved_asset: order.reservedAsset,
    reserved_amount: order.reservedAmount,
    exchange_order_id: order.exchangeOrderId,
    triggered_at: order.triggeredAt,
    trigger_tick_at: order.triggerTickAt,
    created_at: order.createdAt,
    updated_at: order.updatedAt,
    closed_at: order.closedAt,
    version: order.version,
  };
}

const text = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
const json = <T>(value: unknown): T | null => (value === null || value === undefined ? null : ((typeof value === 'string' ? JSON.parse(value) : value) as T));
const date = (value: unknown): Date | null => (value === null || value === undefined ? null : value instanceof Date ? value : new Date(String(value)));

/** A `trade_order` row (snake_case, numerics as strings) as a record. */
export function recordOfRow(row: Record<string, unknown>): TradeOrderRecord {
  return {
    id: String(row.id),
    userId: String(row.user_id),
    accountId: String(row.account_id),
    clientOrderId: String(row.client_order_id),
    symbol: String(row.symbol),
    base: String(row.base),
    quote: String(row.quote),
    side: row.side as TradeOrderRecord['side'],
    type: row.type as TradeOrderRecord['type'],
    quantity: String(row.quantity),
    price: text(row.price),
    stopPrice: text(row.stop_price),
    trailingPercent: text(row.trailing_percent),
    trailingAmount: text(row.trailing_amount),
    activationPrice: text(row.activation_price),
    visibleQuantity: text(row.visible_quantity),
    twapDurationMs: row.twap_duration_ms === null ? null : Number(row.twap_duration_ms),
    twapSlices: row.twap_slices === null ? null : Number(row.twap_slices),
    exits: json(row.exits),
    parentId: text(row.parent_id),
    ocoGroupId: text(row.oco_group_id),
    ocoRole: row.oco_role as TradeOrderRecord['ocoRole'],
    status: row.status as TradeOrderStatus,
    filledQuantity: String(row.filled_quantity),
    averagePrice: text(row.average_price),
    feeTotal: String(row.fee_total),
    reason: text(row.reason),
    execution: row.execution as TradeOrderRecord['execution'],
    triggerState: json(row.trigger_state),
    reservedAsset: text(row.reserved_asset),
    reservedAmount: String(row.reserved_amount),
    exchangeOrderId: text(row.exchange_order_id),
    triggeredAt: date(row.triggered_at),
    triggerTickAt: date(row.trigger_tick_at),
    createdAt: date(row.created_at)!,
    updatedAt: date(row.updated_at)!,
    closedAt: date(row.closed_at),
    version: Number(row.version),
  };
}

/** Locks and reads one order; null when there is none. */
export async function lockOrder(tx: EntityManager, id: string): Promise<TradeOrderRecord | null> {
  const rows = await tx.execute<Record<string, unknown>[]>(`select * from "trade_order" where "id" = ? for update`, [id]);
  return rows[0] ? recordOfRow(rows[0]) : null;
}

/** Locks and reads several orders in id order (so two transactions never lock them crosswise). */
export async function lockOrders(tx: EntityManager, where: { ids?: string[]; ocoGroupId?: string }): Promise<TradeOrderRecord[]> {
  const rows = where.ocoGroupId
    ? await tx.execute<Record<string, unknown>[]>(`select * from "trade_order" where "oco_group_id" = ? order by "id" for update`, [where.ocoGroupId])
    : await tx.execute<Record<string, unknown>[]>(`select * from "trade_order" where "id" in (${(where.ids ?? []).map(() => '?::uuid').join(', ') || 'null'}) order by "id" for update`, where.ids ?? []);
  return rows.map(recordOfRow);
}

/** Reads an order without locking. */
export async function readOrder(em: EntityManager, id: string): Promise<TradeOrderRecord | null> {
  const rows = await em.execute<Record<string, unknown>[]>(`select * from "trade_order" where "id" = ?`, [id]);
  return rows[0] ? recordOfRow(rows[0]) : null;
}

export interface FillRow {
  id: string;
  orderId: string;
  accountId: string;
  price: string;
  quantity: string;
  fee: string;
  feeCurrency: string;
  liquidity: Liquidity;
  exchangeTradeId: string | null;
  executedAt: Date;
}

export interface HistoryRow {
  orderId: string;
  status: TradeOrderStatus;
  filledQuantity: string;
  reason: string | null;
  at: Date;
}

/** Live orders the engine watches: everything emulated or resting on paper, after a restart. */
export async function liveOrders(em: EntityManager): Promise<TradeOrderRecord[]> {
  const rows = await em.execute<Record<string, unknown>[]>(
    `select o.* from "trade_order" o join "exchange_account" a on a."id" = o."account_id"
      where o."status" in ('NEW', 'OPEN', 'PARTIALLY_FILLED') and (o."execution" = 'emulated' or a."kind" = 'paper')
      order by o."created_at", o."id"`,
  );
  return rows.map(recordOfRow);
}

/** Writes the trailing stops' moved state in one statement (rows that stopped being live are left alone). */
export async function saveTriggerStates(em: EntityManager, states: readonly { orderId: string; state: unknown }[]): Promise<void> {
  if (states.length === 0) return;
  const params: unknown[] = [];
  const rows = states.map((entry) => {
    params.push(entry.orderId, JSON.stringify(entry.state));
    return '(?::uuid, ?::jsonb)';
  });
  await em.execute(
    `update "trade_order" o set "trigger_state" = v.state from (values ${rows.join(', ')}) as v(id, state)
      where o."id" = v.id and o."status" in ('NEW', 'OPEN', 'PARTIALLY_FILLED')`,
    params,
    'run',
  );
}
