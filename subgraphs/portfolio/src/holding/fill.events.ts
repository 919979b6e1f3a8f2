import type { Logger } from 'pino';
import type { EntityManager } from '../../../kit/src';
import type { EventEnvelope, EventHandlerHooks, EventHandlers } from '../../../kit/src/events';
import { openPortfolio } from '../portfolio/erasure';
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

/**
 * Applies one fill, at most once: the fill id is the ledger's key (the consumer's inbox already
 * drops a redelivered event; this also drops the same fill under another event id). The portfolio
 * row is locked first, so fills of one user apply one at a time; a fill of an erased user (one that
 * arrives after UserDeleted) is skipped. A fill newer than the holding's last one folds in; an older
 * one (arriving late) replays the asset's ledger in execution order. Returns whether the fill was new.
 */
export async function applyFillEvent(em: EntityManager, envelope: EventEnvelope, deps: FillHandlerDeps, hooks?: EventHandlerHooks): Promise<boolean> {
  const parsed = parseFill(envelope, deps.quoteCurrencies);
  if (!(await openPortfolio(em, parsed.userId))) {
    deps.log.info({ fillId: parsed.fillId, eventId: envelope.id }, 'fill of an erased user; skipped');
    return false;
  }
  const fill: ParsedFill = { ...parsed, feeInBase: parsed.feeCurrency === parsed.base, feeValue: await feeValueOf(em, parsed, deps) };
  const portfolioId = portfolioIdOf(fill.userId);
  const recorded: unknown[] = await em.execute(
    `insert into "fill" ("fill_id", "portfolio_id", "order_id", "asset", "symbol", "side", "quantity", "price", "fee", "fee_currency", "fee_value", "executed_at")
     values (?, ?, ?, ?, ?, ?, ?::numeric, ?::numeric, ?::numeric, ?, ?::numeric, ?) on conflict ("fill_id") do nothing returning "fill_id"`,
    [fill.fillId, portfolioId, fill.orderId, fill.base, fill.symbol, fill.side, fill.quantity, fill.price, fill.fee, fill.feeCurrency, fill.feeValue, fill.executedAt],
  );
  if (recorded.length === 0) {
    deps.log.info({ fillId: fill.fillId, eventId: envelope.id }, 'fill already applied; skipped');
    return false;
  }
  const [holding] = await em.execute<HoldingRow[]>(
    `select "symbol", "quantity", "cost_basis", "realized_pnl", "fees", "net_invested", "fill_count", "last_fill_at", "last_fill_id"
     from "holding" where "portfolio_id" = ? and "asset" = ?`,
    [portfolioId, fill.base],
  );
  const inOrder = !holding || compareFills({ executedAt: new Date(holding.last_fill_at), fillId: holding.last_fill_id }, fill) < 0;
  let position: Position;
  let last: { executedAt: Date; fillId: string } = fill;
  if (inOrder) {
    position = applyFill(holding ? positionOf(holding) : EMPTY_POSITION, fill);
  } else {
    const rows = await em.execute<FillRow[]>(
      `select "fill_id", "side", "quantity", "price", "fee", "fee_value", "fee_currency", "executed_at" from "fill"
       where "portfolio_id" = ? and "asset" = ? order by "executed_at", "fill_id" collate "C"`,
      [portfolioId, fill.base],
    );
    const fills: FillInput[] = rows.map((row) => ({
      fillId: row.fill_id,
      side: row.side,
      quantity: String(row.quantity),
      price: String(row.price),
      fee: String(row.fee),
      feeInBase: row.fee_currency === fill.base,
      feeValue: String(row.fee_value),
      executedAt: new Date(row.executed_at),
    }));
    position = replayFills(fills);
    // The holding's last fill stays the latest one.
    last = { executedAt: new Date(holding!.last_fill_at), fillId: holding!.last_fill_id };
    deps.log.info({ fillId: fill.fillId, asset: fill.base, fills: fills.length }, 'fill arrived out of order; holding replayed from the ledger');
  }
  await em.execute(
    `insert into "holding" ("portfolio_id", "asset", "symbol", "quantity", "cost_basis", "realized_pnl", "fees", "net_invested", "fill_count", "last_fill_at", "last_fill_id", "updated_at")
     values (?, ?, ?, ?::numeric, ?::numeric, ?::numeric, ?::numeric, ?::numeric, ?, ?, ?, now())
     on conflict ("portfolio_id", "asset") do update set
       "quantity" = excluded."quantity", "cost_basis" = excluded."cost_basis", "realized_pnl" = excluded."realized_pnl",
       "fees" = excluded."fees", "net_invested" = excluded."net_invested", "fill_count" = excluded."fill_count",
       "last_fill_at" = excluded."last_fill_at", "last_fill_id" = excluded."last_fill_id", "updated_at" = now()`,
    [
      portfolioId,
      fill.base,
      holding?.symbol ?? fill.symbol,
      stored(position.quantity),
      stored(position.costBasis),
      stored(position.realizedPnl),
      stored(position.fees),
      stored(position.netInvested),
      position.fillCount,
      last.executedAt,
      last.fillId,
    ],
  );
  const after = async (): Promise<void> => {
    deps.prices.observe({ symbol: fill.symbol, price: fill.price, at: fill.executedAt }, { source: 'fill' });
    // Not awaited: Redis confirms the subscription whenever it can, and this job must not wait for it.
    void deps.prices.follow([holding?.symbol ?? fill.symbol]);
  };
  if (hooks) hooks.afterCommit(after);
  else await after();
  deps.updates.publishAfterCommit(em, hooks, fill.userId);
  return true;
}

/** The fills portfolio consumes (routed to `events-portfolio` by the kit's EVENT_ROUTES; UserDeleted: portfolio.events.ts). */
export function createPortfolioEventHandlers(deps: FillHandlerDeps): EventHandlers {
  return {
    [FILL_EXECUTED]: async (em, envelope, hooks) => {
      await applyFillEvent(em, envelope, deps, hooks);
    },
  };
}
