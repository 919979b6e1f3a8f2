import { recordEvent, type EntityManager } from '../../../kit/src';

export const INVENTORY_EVENT_SOURCE = 'inventory';
export const LOW_STOCK_EVENT = 'LowStock';

/** `data` of a `LowStock` event (subject: the product id). */
export interface LowStockData {
  productId: string;
  onHand: number;
  reserved: number;
  available: number;
  previousAvailable: number;
  lowStockThreshold: number;
}

/**
 * True when a change takes availability from above the threshold to at or below it.
 * Staying at or below emits nothing more; going back above re-arms the alert, which is
 * why a stateless before/after comparison on the locked row is enough.
 */
export function crossesIntoLowStock(previousAvailable: number, available: number, threshold: number): boolean {
  return previousAvailable > threshold && available <= threshold;
}

/** Queues the LowStock event on the transaction's entity manager; it commits with the stock change. */
export function recordLowStock(em: EntityManager, data: LowStockData): void {
  recordEvent(em, INVENTORY_EVENT_SOURCE, LOW_STOCK_EVENT, data.productId, { ...data });
}
