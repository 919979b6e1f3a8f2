import type { Logger } from 'pino';
import type { EventEnvelope } from '../../../kit/src/events';
import { mayKeepRowsOf } from '../erasure/erasure.events';
import type { RollupHandler, RollupHandlers } from '../shared/consume';
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

/** The trading side: each fill adds to its user's figures (unless erased) and to its hour's volume, per quote currency. */
export function tradingHandlers(log: Logger): RollupHandlers {
  const fillExecuted: RollupHandler<ExecutedFill> = {
    parse: parseFill,
    async apply(em, fill, envelope) {
      const figures = fillFigures(fill);
      if (!figures.feeCounted) log.info({ eventId: envelope.id, fillId: fill.fillId, feeCurrency: fill.feeCurrency }, 'fee in a third currency left out of trading fees');
      // A fill arriving after its user's erasure still counts in its hour, but no longer per user.
      if (await mayKeepRowsOf(em, fill.userId)) {
        await em.execute(
          `insert into "trading_stats" ("user_id", "quote", "fills", "volume", "fees", "last_fill_at") values (?, ?, 1, ?::numeric, ?::numeric, ?)
           on conflict ("user_id", "quote") do update set
             "fills" = "trading_stats"."fills" + 1,
             "volume" = "trading_stats"."volume" + excluded."volume",
             "fees" = "trading_stats"."fees" + excluded."fees",
             "last_fill_at" = greatest("trading_stats"."last_fill_at", excluded."last_fill_at")`,
          [fill.userId, fill.quote, figures.volume, figures.fees, fill.executedAt],
          'run',
        );
      }
      await em.execute(
        `insert into "hourly_trading" ("hour", "quote", "fills", "volume", "fees") values (?, ?, 1, ?::numeric, ?::numeric)
         on conflict ("hour", "quote") do update set
           "fills" = "hourly_trading"."fills" + 1,
           "volume" = "hourly_trading"."volume" + excluded."volume",
           "fees" = "hourly_trading"."fees" + excluded."fees"`,
        [hourOf(fill.executedAt), fill.quote, figures.volume, figures.fees],
        'run',
      );
    },
  };

  const tradeOrderUpdated: RollupHandler<TradeOrderState> = {
    parse(envelope) {
      const read = payloadReader(envelope);
      return { orderId: read.id('orderId'), userId: read.id('userId'), status: read.label('status', STATUS), updatedAt: read.timeOr('updatedAt') };
    },
    // Keeps each order's latest state (updates may arrive out of order) and when it was first seen.
    // An update after its user's erasure is dropped: it is mostly trading cancelling an order that
    // was counted before (in daily_erased_trade_orders since), which must not count twice.
    async apply(em, order) {
      if (!(await mayKeepRowsOf(em, order.userId))) return;
      await em.execute(
        `insert into "trade_order_state" ("order_id", "user_id", "status", "first_seen_at", "updated_at") values (?, ?, ?, ?, ?)
         on conflict ("order_id") do update set
           "status" = case when excluded."updated_at" >= "trade_order_state"."updated_at" then excluded."status" else "trade_order_state"."status" end,
           "updated_at" = greatest("trade_order_state"."updated_at", excluded."updated_at"),
           "first_seen_at" = least("trade_order_state"."first_seen_at", excluded."first_seen_at")`,
        [order.orderId, order.userId, order.status, order.updatedAt, order.updatedAt],
        'run',
      );
    },
  };

  return { FillExecuted: fillExecuted, TradeOrderUpdated: tradeOrderUpdated };
}
