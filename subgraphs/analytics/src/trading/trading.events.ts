import type { Logger } from 'pino';
import type { EventEnvelope } from '../../../kit/src/events';
import { sqlQuery, type EntityManager } from '../../../kit/src';
import { lockUsersRows } from '../erasure/erasure.events';
import type { BatchedRollupHandler, ParsedEvent, RollupHandlers } from '../shared/consume';
import { payloadReader } from '../shared/payload';
import { hourOf } from '../shared/time';
import { fillFigures, type FillAmounts } from './fill-figures';

const ASSET = /^[A-Z0-9]{1,20}$/;
const SYMBOL = /^([A-Z0-9]{1,20})\/([A-Z0-9]{1,20})$/;
const STATUS = /^[A-Z_]{1,30}$/;

/** FillExecuted (trading): `{ fillId, orderId, accountId, userId, symbol, base, quote, side, quantity, price, fee, feeCurrency, executedAt }`. */
export interface ExecutedFill extends FillAmounts {
  fillId: string | null;
  userId: string;
  executedAt: Date;
}

/** TradeOrderUpdated (trading): the order as one transaction left it. */
export interface TradeOrderState {
  orderId: string;
  userId: string;
  status: string;
  updatedAt: Date;
}

export function parseFill(envelope: EventEnvelope): ExecutedFill {
  const read = payloadReader(envelope);
  const pair = SYMBOL.exec(read.optionalLabel('symbol', SYMBOL) ?? '');
  const quote = read.optionalLabel('quote', ASSET) ?? pair?.[2] ?? null;
  if (quote === null) throw read.fail('data.quote (or data.symbol BASE/QUOTE) is required');
  return {
    fillId: read.optionalId('fillId'),
    userId: read.id('userId'),
    base: read.optionalLabel('base', ASSET) ?? pair?.[1] ?? null,
    quote,
    quantity: read.decimal('quantity'),
    price: read.decimal('price'),
    fee: read.optionalDecimal('fee') ?? '0',
    feeCurrency: read.optionalLabel('feeCurrency', ASSET) ?? quote,
    executedAt: read.timeOr('executedAt'),
  };
}

const FILL_EXECUTED = 'FillExecuted';
const TRADE_ORDER_UPDATED = 'TradeOrderUpdated';

/**
 * The trading side, set-based: a run of fills and order updates takes one lock statement and at
 * most three writes, whatever its length. Each fill adds to its user's figures (unless erased) and
 * to its hour's volume, per quote currency. Each order keeps its latest state (updates may arrive
 * out of order) and when it was first seen; an update after its user's erasure is dropped: it is
 * mostly trading cancelling an order that was counted before (in daily_erased_trade_orders since),
 * which must not count twice.
 */
export function tradingHandlers(log: Logger): RollupHandlers {
  async function applyAll(em: EntityManager, events: readonly ParsedEvent[]): Promise<void> {
    const fills = events.filter(({ envelope }) => envelope.type === FILL_EXECUTED) as ParsedEvent<ExecutedFill>[];
    const orders = events.filter(({ envelope }) => envelope.type === TRADE_ORDER_UPDATED).map(({ event }) => event as TradeOrderState);
    // A fill arriving after its user's erasure still counts in its hour, but no longer per user.
    await lockUsersRows(em, [...fills.map(({ event }) => event.userId), ...orders.map((order) => order.userId)]);
    if (fills.length > 0) {
      const rows = fills.map(({ event: fill, envelope }) => {
        const { volume, fees, feeCounted } = fillFigures(fill);
        if (!feeCounted) log.info({ eventId: envelope.id, fillId: fill.fillId, feeCurrency: fill.feeCurrency }, 'fee in a third currency left out of trading fees');
        return { user_id: fill.userId, quote: fill.quote, hour: hourOf(fill.executedAt), at: fill.executedAt, volume, fees };
      });
      const figures = JSON.stringify(rows);
      await sqlQuery(
        em,
        `insert into "trading_stats" ("user_id", "quote", "fills", "volume", "fees", "last_fill_at")
         select "f"."user_id", "f"."quote", count(*), sum("f"."volume"), sum("f"."fees"), max("f"."at")
         from jsonb_to_recordset($1::jsonb) as "f"("user_id" varchar, "quote" varchar, "volume" numeric, "fees" numeric, "at" timestamptz)
         where not exists (select 1 from "erased_user" where "erased_user"."user_id" = "f"."user_id")
         group by "f"."user_id", "f"."quote"
         on conflict ("user_id", "quote") do update set
           "fills" = "trading_stats"."fills" + excluded."fills",
           "volume" = "trading_stats"."volume" + excluded."volume",
           "fees" = "trading_stats"."fees" + excluded."fees",
           "last_fill_at" = greatest("trading_stats"."last_fill_at", excluded."last_fill_at")`,
        [figures],
      );
      await sqlQuery(
        em,
        `insert into "hourly_trading" ("hour", "quote", "fills", "volume", "fees")
         select "f"."hour", "f"."quote", count(*), sum("f"."volume"), sum("f"."fees")
         from jsonb_to_recordset($1::jsonb) as "f"("hour" timestamptz, "quote" varchar, "volume" numeric, "fees" numeric)
         group by "f"."hour", "f"."quote"
         on conflict ("hour", "quote") do update set
           "fills" = "hourly_trading"."fills" + excluded."fills",
           "volume" = "hourly_trading"."volume" + excluded."volume",
           "fees" = "hourly_trading"."fees" + excluded."fees"`,
        [figures],
      );
    }
    if (orders.length > 0) {
      await sqlQuery(
        em,
        `insert into "trade_order_state" ("order_id", "user_id", "status", "first_seen_at", "updated_at")
         select "o"."order_id", "o"."user_id", "o"."status", "o"."first_seen_at", "o"."updated_at"
         from jsonb_to_recordset($1::jsonb) as "o"("order_id" varchar, "user_id" varchar, "status" varchar, "first_seen_at" timestamptz, "updated_at" timestamptz)
         where not exists (select 1 from "erased_user" where "erased_user"."user_id" = "o"."user_id")
         on conflict ("order_id") do update set
           "status" = case when excluded."updated_at" >= "trade_order_state"."updated_at" then excluded."status" else "trade_order_state"."status" end,
           "updated_at" = greatest("trade_order_state"."updated_at", excluded."updated_at"),
           "first_seen_at" = least("trade_order_state"."first_seen_at", excluded."first_seen_at")`,
        [JSON.stringify(latestStates(orders))],
      );
    }
  }

  const fillExecuted: BatchedRollupHandler<ExecutedFill> = { parse: parseFill, applyAll };
  const tradeOrderUpdated: BatchedRollupHandler<TradeOrderState> = {
    parse(envelope) {
      const read = payloadReader(envelope);
      return { orderId: read.id('orderId'), userId: read.id('userId'), status: read.label('status', STATUS), updatedAt: read.timeOr('updatedAt') };
    },
    applyAll,
  };
  return { [FILL_EXECUTED]: fillExecuted, [TRADE_ORDER_UPDATED]: tradeOrderUpdated };
}

/**
 * One row per order, as applying the updates one after another would leave it (one statement cannot
 * change a row twice): the latest state, a later arrival winning a tie, and the earliest time seen.
 */
function latestStates(orders: readonly TradeOrderState[]): { order_id: string; user_id: string; status: string; first_seen_at: Date; updated_at: Date }[] {
  const byOrder = new Map<string, { order_id: string; user_id: string; status: string; first_seen_at: Date; updated_at: Date }>();
  for (const order of orders) {
    const kept = byOrder.get(order.orderId);
    if (!kept) {
      byOrder.set(order.orderId, { order_id: order.orderId, user_id: order.userId, status: order.status, first_seen_at: order.updatedAt, updated_at: order.updatedAt });
      continue;
    }
    if (order.updatedAt.getTime() >= kept.updated_at.getTime()) Object.assign(kept, { status: order.status, updated_at: order.updatedAt });
    if (order.updatedAt.getTime() < kept.first_seen_at.getTime()) kept.first_seen_at = order.updatedAt;
  }
  return [...byOrder.values()];
}
