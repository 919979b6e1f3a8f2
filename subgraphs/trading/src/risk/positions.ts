import type { EntityManager } from '../../../kit/src';
import type { RiskExposure } from './risk';

/**
 * Positions and realised PnL per account, from fills (average cost): a BUY adds its quantity and
 * its cost (fee included) to the position; a SELL takes the average cost of what it sells out and
 * realises proceeds − fee − that cost. Selling more than the fills bought (a starting balance)
 * realises nothing on the excess. Realised PnL accumulates per account and UTC day for the daily
 * loss limit. `trade_change_apply` (Migration0003OrderWrites) applies them, in the change's transaction.
 */

export interface PositionFill {
  accountId: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  /** The base the position gains (BUY) or loses (SELL): a base-asset fee's quantity taken off or added. */
  quantity: string;
  price: string;
  /** In the quote asset. */
  fee: string;
  at: Date;
}

export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/** What placing an order reads before anything is written, in one round trip. */
export interface Preflight {
  /** The order this user already placed under the client order id, if any. */
  existingOrderId: string | null;
  /** The account named by the request, whoever owns it; null when there is none. */
  account: { id: string; userId: string; kind: 'paper' | 'ccxt'; exchangeId: string; feeRate: string; slippageBps: string; unlinked: boolean } | null;
  exposure: RiskExposure;
}

export async function readPreflight(em: EntityManager, request: { userId: string; clientOrderId: string; accountId: string; symbol: string; at: Date }): Promise<Preflight> {
  const { userId, clientOrderId, accountId, symbol } = request;
  const [row] = await em.execute<Record<string, string | boolean | null>[]>(
    `select (select "id" from "trade_order" where "user_id" = ? and "client_order_id" = ?) as "existing",
            a."id", a."user_id", a."kind", a."exchange_id", a."fee_rate"::text as "fee_rate", a."slippage_bps"::text as "slippage_bps",
            a."unlinked_at" is not null as "unlinked",
            (select "quantity" from "account_position" where "account_id" = ?::uuid and "symbol" = ?) as "position",
            (select sum("quantity" - "filled_quantity") from "trade_order"
              where "account_id" = ?::uuid and "symbol" = ? and "side" = 'BUY' and "status" in ('NEW', 'OPEN', 'PARTIALLY_FILLED')) as "open_buys",
            (select "realized" from "daily_pnl" where "account_id" = ?::uuid and "day" = ?::date) as "realized"
       from (select 1) as "one" left join "exchange_account" a on a."id" = ?::uuid`,
    [userId, clientOrderId, accountId, symbol, accountId, symbol, accountId, utcDay(request.at), accountId],
  );
  const text = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
  return {
    existingOrderId: text(row?.existing),
    account: row?.id
      ? {
          id: String(row.id),
          userId: String(row.user_id),
          kind: row.kind as 'paper' | 'ccxt',
          exchangeId: String(row.exchange_id),
          feeRate: String(row.fee_rate),
          slippageBps: String(row.slippage_bps),
          unlinked: row.unlinked === true,
        }
      : null,
    exposure: { positionQuantity: text(row?.position) ?? '0', openBuyQuantity: text(row?.open_buys) ?? '0', realizedToday: text(row?.realized) ?? '0' },
  };
}
