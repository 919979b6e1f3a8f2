import type { EntityManager } from '../../../kit/src';

/** What the seed needs of a demo product (scripts/demo-data.ts `DemoProduct` fits). */
export interface SeedProduct {
  id: string;
  sku: string;
  kind: string;
  priceAmount: number;
  currency: string;
}

/** Seeded snapshots count as older than any real event, so catalog's first ProductChanged replaces them. */
export const SEED_OCCURRED_AT = new Date(0);

/**
 * Product snapshots for the demo products, so carts work before catalog's ProductChanged events
 * arrive through the queues. Idempotent: a product that already has a snapshot is left alone.
 */
export async function seedOrders(em: EntityManager, products: readonly SeedProduct[]): Promise<number> {
  if (products.length === 0) return 0;
  const rows = products.map(() => '(?, ?, ?, ?, ?, true, ?, now())').join(', ');
  const params = products.flatMap((product) => [product.id, product.sku, product.kind, product.priceAmount, product.currency, SEED_OCCURRED_AT]);
  const inserted: unknown[] = await em.execute(
    `insert into "product_snapshot" ("product_id", "sku", "kind", "price_amount", "currency", "active", "source_occurred_at", "updated_at")
     values ${rows} on conflict ("product_id") do nothing returning "product_id"`,
    params,
  );
  return inserted.length;
}
