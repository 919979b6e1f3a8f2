import type { Logger } from 'pino';
import { sqlQuery, type EntityManager } from '../../../kit/src';
import { batchedEventHandler, type EventEnvelope, type EventHandlerHooks, type EventHandlers } from '../../../kit/src/events';
import { openPortfolios } from '../portfolio/erasure';
import type { PortfolioUpdates } from '../portfolio/portfolio.updates';
import type { PriceBook } from '../price/price-book';
import { Dec, stored } from '../shared/decimal';
import { payloadReader } from '../shared/events';
import { ASSET_PATTERN, portfolioIdOf, SYMBOL_PATTERN } from '../shared/ids';
import { applyFill, compareFills, EMPTY_POSITION, replayFills, type FillInput, type Position, type Side } from './cost-basis';

export const FILL_EXECUTED = 'FillExecuted';

/** trading's `FillExecuted` (subject = order id); amounts are decimal strings. */
export interface FillExecutedData {
  fillId: string;
  orderId: string;
  accountId: string;
  userId: string;
  symbol: string;
  base: string;
  quote: string;
  side: Side;
  quantity: string;
  price: string;
  fee: string;
  feeCurrency: string;
  executedAt: string;
}

/** A fill as the ledger records it. */
export interface ParsedFill extends FillInput {
  userId: string;
  orderId: string;
  symbol: string;
  base: string;
  quote: string;
  feeCurrency: string;
}

/**
 * Reads and checks a FillExecuted payload. A quote outside `quoteCurrencies` (USD stablecoins) is
 * refused: values are kept in one stablecoin-denominated currency.
 */
export function parseFill(envelope: EventEnvelope, quoteCurrencies: readonly string[]): Omit<ParsedFill, 'feeValue' | 'feeInBase'> {
  const read = payloadReader(envelope);
  const symbol = read.string('symbol', 40, SYMBOL_PATTERN);
  const base = read.string('base', 20, ASSET_PATTERN);
  const quote = read.string('quote', 20, ASSET_PATTERN);
  if (symbol !== `${base}/${quote}`) throw read.fail(`data.symbol ${symbol} is not data.base/data.quote`);
  if (!quoteCurrencies.includes(quote)) throw read.fail(`quote currency ${quote} is not one of ${quoteCurrencies.join(', ')}`);
  const fill = {
    fillId: read.string('fillId'),
    orderId: read.string('orderId'),
    userId: read.string('userId'),
    symbol,
    base,
    quote,
    side: read.oneOf('side', ['BUY', 'SELL'] as const),
    quantity: read.decimal('quantity'),
    price: read.decimal('price'),
    fee: read.decimal('fee', true),
    feeCurrency: read.string('feeCurrency', 20, ASSET_PATTERN),
    executedAt: read.date('executedAt'),
  };
  if (fill.side === 'BUY' && fill.feeCurrency === base && !new Dec(fill.fee).lt(fill.quantity)) throw read.fail('a base-currency fee must be below the quantity bought');
  return fill;
}

interface HoldingRow {
  symbol: string;
  quantity: string;
  cost_basis: string;
  realized_pnl: string;
  fees: string;
  net_invested: string;
  fill_count: number;
  last_fill_at: Date;
  last_fill_id: string;
}

interface FillRow {
  fill_id: string;
  side: Side;
  quantity: string;
  price: string;
  fee: string;
  fee_value: string;
  fee_currency: string;
  executed_at: Date;
}

const positionOf = (row: HoldingRow): Position => ({
  quantity: new Dec(String(row.quantity)),
  costBasis: new Dec(String(row.cost_basis)),
  realizedPnl: new Dec(String(row.realized_pnl)),
  fees: new Dec(String(row.fees)),
  netInvested: new Dec(String(row.net_invested)),
  fillCount: row.fill_count,
});

export interface FillHandlerDeps {
  prices: PriceBook;
  updates: PortfolioUpdates;
  /** Accepted quote currencies, valued 1:1; fees in them count at face value. */
  quoteCurrencies: readonly string[];
  log: Logger;
}

/**
 * The fee in the quote currency: a base fee at the fill price, a quote stablecoin at face value, any
 * other currency (e.g. BNB) at its latest known price against a quote stablecoin. Without one the
 * handler throws, so the job is retried (and, failing, kept for replay).
 */
async function feeValueOf(em: EntityManager, fill: Omit<ParsedFill, 'feeValue' | 'feeInBase'>, deps: FillHandlerDeps): Promise<string> {
  if (fill.feeCurrency === fill.base) return stored(new Dec(fill.fee).times(fill.price));
  if (deps.quoteCurrencies.includes(fill.feeCurrency)) return fill.fee;
  if (new Dec(fill.fee).isZero()) return '0';
  const symbols = deps.quoteCurrencies.map((quote) => `${fill.feeCurrency}/${quote}`);
  const prices = await deps.prices.resolve(em, symbols);
  const quote = symbols.map((symbol) => prices.get(symbol)).find((found) => found !== undefined);
  if (!quote) throw new Error(`no price of ${fill.feeCurrency} to value the fee of fill ${fill.fillId}`);
  return stored(new Dec(fill.fee).times(quote.price));
}

interface HoldingKey {
  portfolioId: string;
  asset: string;
}

/**
 * Applies fills, each at most once: the fill id is the ledger's key (the consumer's inbox already
 * drops a redelivered event; this also drops the same fill under another event id). The portfolio
 * rows are locked first, so fills of one user apply one batch at a time; fills of an erased user
 * (arriving after UserDeleted) are skipped. A holding's new fills, all newer than its last one, fold
 * in in execution order; if one is older (arriving late) the asset's ledger is replayed in that order.
 * Whatever the number of fills, this is a handful of statements (plus one per late holding).
 */
export async function applyFillEvents(em: EntityManager, envelopes: readonly EventEnvelope[], deps: FillHandlerDeps, hooks?: EventHandlerHooks): Promise<void> {
  const parsed = envelopes.map((envelope) => ({ envelope, fill: parseFill(envelope, deps.quoteCurrencies) }));
  const open = await openPortfolios(
    em,
    parsed.map(({ fill }) => fill.userId),
  );
  const fills: ParsedFill[] = [];
  const seen = new Set<string>();
  for (const { envelope, fill } of parsed) {
    if (!open.has(fill.userId)) {
      deps.log.info({ fillId: fill.fillId, eventId: envelope.id }, 'fill of an erased user; skipped');
      continue;
    }
    // The same fill twice in one batch (under two event ids) is one fill.
    if (seen.has(fill.fillId)) continue;
    seen.add(fill.fillId);
    fills.push({ ...fill, feeInBase: fill.feeCurrency === fill.base, feeValue: await feeValueOf(em, fill, deps) });
  }
  if (fills.length === 0) return;

  const recorded = await sqlQuery<{ fill_id: string }>(
    em,
    `insert into "fill" ("fill_id", "portfolio_id", "order_id", "asset", "symbol", "side", "quantity", "price", "fee", "fee_currency", "fee_value", "executed_at")
     select "f"."fill_id", "f"."portfolio_id", "f"."order_id", "f"."asset", "f"."symbol", "f"."side", "f"."quantity", "f"."price", "f"."fee", "f"."fee_currency", "f"."fee_value", "f"."executed_at"
     from jsonb_to_recordset($1::jsonb) as "f"("fill_id" varchar, "portfolio_id" uuid, "order_id" varchar, "asset" varchar, "symbol" varchar, "side" varchar,
       "quantity" numeric, "price" numeric, "fee" numeric, "fee_currency" varchar, "fee_value" numeric, "executed_at" timestamptz)
     on conflict ("fill_id") do nothing returning "fill_id"`,
    [
      JSON.stringify(
        fills.map((fill) => ({
          fill_id: fill.fillId,
          portfolio_id: portfolioIdOf(fill.userId),
          order_id: fill.orderId,
          asset: fill.base,
          symbol: fill.symbol,
          side: fill.side,
          quantity: fill.quantity,
          price: fill.price,
          fee: fill.fee,
          fee_currency: fill.feeCurrency,
          fee_value: fill.feeValue,
          executed_at: fill.executedAt,
        })),
      ),
    ],
  );
  const fresh = new Set(recorded.map((row) => row.fill_id));
  for (const fill of fills) if (!fresh.has(fill.fillId)) deps.log.info({ fillId: fill.fillId }, 'fill already applied; skipped');
  const applied = fills.filter((fill) => fresh.has(fill.fillId));
  if (applied.length === 0) return;

  const groups = new Map<string, { key: HoldingKey; fills: ParsedFill[] }>();
  for (const fill of applied) {
    const key = { portfolioId: portfolioIdOf(fill.userId), asset: fill.base };
    const id = `${key.portfolioId}/${key.asset}`;
    const group = groups.get(id) ?? groups.set(id, { key, fills: [] }).get(id)!;
    group.fills.push(fill);
  }
  const holdings = await sqlQuery<HoldingRow & { portfolio_id: string; asset: string }>(
    em,
    `select "h"."portfolio_id", "h"."asset", "h"."symbol", "h"."quantity", "h"."cost_basis", "h"."realized_pnl", "h"."fees", "h"."net_invested", "h"."fill_count", "h"."last_fill_at", "h"."last_fill_id"
     from "holding" "h" join jsonb_to_recordset($1::jsonb) as "k"("portfolio_id" uuid, "asset" varchar) on "h"."portfolio_id" = "k"."portfolio_id" and "h"."asset" = "k"."asset"`,
    [JSON.stringify([...groups.values()].map(({ key }) => ({ portfolio_id: key.portfolioId, asset: key.asset })))],
  );
  const holdingOf = new Map(holdings.map((row) => [`${row.portfolio_id}/${row.asset}`, row]));

  const rows = [];
  for (const [id, { key, fills: groupFills }] of groups) {
    const holding = holdingOf.get(id);
    const ordered = [...groupFills].sort(compareFills);
    const newest = ordered.at(-1)!;
    const held = holding ? { executedAt: new Date(holding.last_fill_at), fillId: holding.last_fill_id } : null;
    let position: Position;
    if (!held || compareFills(held, ordered[0]!) < 0) {
      position = ordered.reduce(applyFill, holding ? positionOf(holding) : EMPTY_POSITION);
    } else {
      position = replayFills(await ledgerOf(em, key));
      deps.log.info({ asset: key.asset, fills: position.fillCount }, 'fill arrived out of order; holding replayed from the ledger');
    }
    // The holding's last fill stays the latest one.
    const last = held && compareFills(held, newest) > 0 ? held : newest;
    rows.push({
      portfolio_id: key.portfolioId,
      asset: key.asset,
      symbol: holding?.symbol ?? newest.symbol,
      quantity: stored(position.quantity),
      cost_basis: stored(position.costBasis),
      realized_pnl: stored(position.realizedPnl),
      fees: stored(position.fees),
      net_invested: stored(position.netInvested),
      fill_count: position.fillCount,
      last_fill_at: last.executedAt,
      last_fill_id: last.fillId,
    });
  }
  await sqlQuery(
    em,
    `insert into "holding" ("portfolio_id", "asset", "symbol", "quantity", "cost_basis", "realized_pnl", "fees", "net_invested", "fill_count", "last_fill_at", "last_fill_id", "updated_at")
     select "h"."portfolio_id", "h"."asset", "h"."symbol", "h"."quantity", "h"."cost_basis", "h"."realized_pnl", "h"."fees", "h"."net_invested", "h"."fill_count", "h"."last_fill_at", "h"."last_fill_id", now()
     from jsonb_to_recordset($1::jsonb) as "h"("portfolio_id" uuid, "asset" varchar, "symbol" varchar, "quantity" numeric, "cost_basis" numeric, "realized_pnl" numeric,
       "fees" numeric, "net_invested" numeric, "fill_count" int, "last_fill_at" timestamptz, "last_fill_id" varchar)
     on conflict ("portfolio_id", "asset") do update set
       "quantity" = excluded."quantity", "cost_basis" = excluded."cost_basis", "realized_pnl" = excluded."realized_pnl",
       "fees" = excluded."fees", "net_invested" = excluded."net_invested", "fill_count" = excluded."fill_count",
       "last_fill_at" = excluded."last_fill_at", "last_fill_id" = excluded."last_fill_id", "updated_at" = now()`,
    [JSON.stringify(rows)],
  );

  const symbols = rows.map((row) => row.symbol);
  const after = async (): Promise<void> => {
    for (const fill of applied) deps.prices.observe({ symbol: fill.symbol, price: fill.price, at: fill.executedAt }, { source: 'fill' });
    // Not awaited: Redis confirms the subscription whenever it can, and this job must not wait for it.
    void deps.prices.follow(symbols);
  };
  if (hooks) hooks.afterCommit(after);
  else await after();
  for (const userId of new Set(applied.map((fill) => fill.userId))) deps.updates.publishAfterCommit(em, hooks, userId);
}

/** The asset's whole ledger in execution order (this transaction's fills included). */
async function ledgerOf(em: EntityManager, { portfolioId, asset }: HoldingKey): Promise<FillInput[]> {
  const rows = await em.execute<FillRow[]>(
    `select "fill_id", "side", "quantity", "price", "fee", "fee_value", "fee_currency", "executed_at" from "fill"
     where "portfolio_id" = ? and "asset" = ? order by "executed_at", "fill_id" collate "C"`,
    [portfolioId, asset],
  );
  return rows.map((row) => ({
    fillId: row.fill_id,
    side: row.side,
    quantity: String(row.quantity),
    price: String(row.price),
    fee: String(row.fee),
    feeInBase: row.fee_currency === asset,
    feeValue: String(row.fee_value),
    executedAt: new Date(row.executed_at),
  }));
}

/** The fills portfolio consumes (routed to `events-portfolio` by the kit's EVENT_ROUTES; UserDeleted: portfolio.events.ts). */
export function createPortfolioEventHandlers(deps: FillHandlerDeps): EventHandlers {
  return {
    [FILL_EXECUTED]: batchedEventHandler((em, envelopes, hooks) => applyFillEvents(em, envelopes, deps, hooks)),
  };
}
