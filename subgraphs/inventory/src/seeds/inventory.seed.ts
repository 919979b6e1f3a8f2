import type { EntityManager } from '../../../kit/src';
import type { DemoProduct } from '../../../../scripts/demo-data';
import { StockLevelEntity } from '../stock/stock-level.entity';
import { StockMovementEntity } from '../stock/stock-movement.entity';

export const SEED_ACTOR_ID = 'seed';
export const SEED_REASON = 'Initial stock (seed)';

/**
 * Gives every demo product that has `stock` a stock level, with a ledger line for the initial
 * units. Idempotent: products that already have a level are left alone, so stock changed since
 * the first seed is never reset.
 */
export async function seedInventory(em: EntityManager, products: DemoProduct[]): Promise<void> {
  const stocked = products.filter((product): product is DemoProduct & { stock: NonNullable<DemoProduct['stock']> } => product.stock !== undefined);
  if (stocked.length === 0) return;
  await em.transactional(async (tx) => {
    const existing = await tx.find(StockLevelEntity, { productId: { $in: stocked.map((product) => product.id) } });
    const known = new Set(existing.map((level) => level.productId));
    for (const product of stocked) {
      if (known.has(product.id)) continue;
      known.add(product.id);
      const now = new Date();
      tx.persist(
        tx.create(StockLevelEntity, {
          productId: product.id,
          onHand: product.stock.onHand,
          reserved: 0,
          lowStockThreshold: product.stock.lowStockThreshold,
          createdAt: now,
          updatedAt: now,
        }),
      );
      if (product.stock.onHand !== 0) {
        tx.persist(
          tx.create(StockMovementEntity, {
            productId: product.id,
            delta: product.stock.onHand,
            reason: SEED_REASON,
            onHandAfter: product.stock.onHand,
            reservedDelta: 0,
            reservedAfter: 0,
            actorId: SEED_ACTOR_ID,
            createdAt: now,
          }),
        );
      }
    }
  });
}
