import type { EntityManager } from '../../../kit/src';
import type { EventLine } from '../shared/payload';
import type { Day } from '../shared/time';
import { allocateRevenue } from './allocation';

/** Counters of `daily_orders`, one per order event. */
export type OrderCount = 'confirmed' | 'cancelled' | 'payment_failures' | 'reservations_expired' | 'returns';

/** Adds to the day's sales in one currency (a single upsert: concurrent events add up). */
export async function addDailySales(em: EntityManager, day: Day, currency: string, delta: { orders?: number; revenue?: bigint; refunds?: bigint }): Promise<void> {
  await em.execute(
    `insert into "daily_sales" ("day", "currency", "orders", "revenue_minor", "refunds_minor") values (?::date, ?, ?, ?, ?)
     on conflict ("currency", "day") do update set
       "orders" = "daily_sales"."orders" + excluded."orders",
       "revenue_minor" = "daily_sales"."revenue_minor" + excluded."revenue_minor",
       "refunds_minor" = "daily_sales"."refunds_minor" + excluded."refunds_minor"`,
    [day, currency, delta.orders ?? 0, String(delta.revenue ?? 0n), String(delta.refunds ?? 0n)],
    'run',
  );
}

export async function countOrderEvent(em: EntityManager, day: Day, count: OrderCount): Promise<void> {
  await em.execute(
    `insert into "daily_orders" ("day", "${count}") values (?::date, 1) on conflict ("day") do update set "${count}" = "daily_orders"."${count}" + 1`,
    [day],
    'run',
  );
}

/** Adds units (and revenue, returned units) to products, in product order so concurrent sales never deadlock. */
export async function addProductSales(em: EntityManager, currency: string, rows: { productId: string; units: number; revenue: bigint; unitsReturned: number }[]): Promise<void> {
  if (rows.length === 0) return;
  const sorted = [...rows].sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
  await em.execute(
    `insert into "product_sales" ("product_id", "currency", "units", "revenue_minor", "units_returned") values ${sorted.map(() => '(?, ?, ?, ?, ?)').join(', ')}
     on conflict ("product_id", "currency") do update set
       "units" = "product_sales"."units" + excluded."units",
       "revenue_minor" = "product_sales"."revenue_minor" + excluded."revenue_minor",
       "units_returned" = "product_sales"."units_returned" + excluded."units_returned"`,
    sorted.flatMap((row) => [row.productId, currency, row.units, String(row.revenue), row.unitsReturned]),
    'run',
  );
}

/** Sums the quantities of repeated products. */
export function unitsByProduct(lines: readonly EventLine[]): Map<string, number> {
  const units = new Map<string, number>();
  for (const line of lines) units.set(line.productId, (units.get(line.productId) ?? 0) + line.quantity);
  return units;
}

interface SettledRow {
  currency: string;
  paid_minor: string;
  lines: EventLine[];
}

/**
 * Once an order is both paid (PaymentSucceeded: amount, currency) and confirmed (OrderConfirmed:
 * lines), in whichever order they arrive, its products' units and revenue are counted, once: the
 * update that sets `settled_at` runs on the row the two events lock in turn.
 */
export async function settleSale(em: EntityManager, orderId: string): Promise<boolean> {
  const settled: SettledRow[] = await em.execute(
    `update "sale_order" set "settled_at" = now()
     where "order_id" = ? and "settled_at" is null and "paid_at" is not null and "confirmed_at" is not null
     returning "currency", "paid_minor", "lines"`,
    [orderId],
  );
  const sale = settled[0];
  if (!sale) return false;
  // Lines carry the price charged; older OrderConfirmed events did not, and fall back to the list price.
  const productIds = [...new Set(sale.lines.filter((line) => line.unitAmount === undefined).map((line) => line.productId))];
  const prices: { product_id: string; price_minor: string }[] =
    productIds.length === 0
      ? []
      : await em.execute(`select "product_id", "price_minor" from "product_price" where "currency" = ? and "product_id" in (?)`, [sale.currency, productIds]);
  const priceOf = new Map(prices.map((row) => [row.product_id, BigInt(row.price_minor)]));
  const shares = allocateRevenue(
    BigInt(sale.paid_minor),
    sale.lines.map((line) => ({ ...line, unitPrice: line.unitAmount !== undefined ? BigInt(line.unitAmount) : (priceOf.get(line.productId) ?? null) })),
  );
  await addProductSales(em, sale.currency, shares.map((share) => ({ ...share, unitsReturned: 0 })));
  return true;
}
