import type { RollupHandler, RollupHandlers } from '../shared/consume';
import { payloadReader } from '../shared/payload';

/** LowStock (inventory): `{ productId, onHand, reserved, available, previousAvailable, lowStockThreshold }`. */
export interface LowStockFact {
  productId: string;
  available: number | null;
  threshold: number | null;
  at: Date;
}

/** Each alert is kept (keyed by its event id) for the admins' list and the day's count. */
const lowStock: RollupHandler<LowStockFact> = {
  parse(envelope) {
    const read = payloadReader(envelope);
    return { productId: read.id('productId'), available: read.optionalInt('available'), threshold: read.optionalInt('lowStockThreshold'), at: read.occurredAt };
  },
  async apply(em, alert, envelope) {
    await em.execute(
      `insert into "low_stock_alert" ("event_id", "product_id", "available", "threshold", "occurred_at") values (?, ?, ?, ?, ?) on conflict ("event_id") do nothing`,
      [envelope.id, alert.productId, alert.available, alert.threshold, alert.at],
      'run',
    );
  },
};

export const stockHandlers: RollupHandlers = { LowStock: lowStock };
