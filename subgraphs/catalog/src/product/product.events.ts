import { recordEvent, type EntityManager, type OutboxEvent } from '../../../kit/src';
import type { ProductEntity } from './product.entity';

export const PRODUCT_CHANGED = 'ProductChanged';

/** Payload of `ProductChanged` (version 1), consumed by orders, inventory and analytics. */
export interface ProductChangedData {
  productId: string;
  sku: string;
  name: string;
  kind: string;
  priceAmount: number;
  currency: string;
  active: boolean;
  [key: string]: unknown;
}

export const productChangedData = (product: ProductEntity): ProductChangedData => ({
  productId: product.id,
  sku: product.sku,
  name: product.name,
  kind: product.kind,
  priceAmount: product.priceAmount,
  currency: product.currency,
  active: product.active,
});

/** Queues the event on `em`; it is written by the flush that writes the product. */
export function recordProductChanged(em: EntityManager, product: ProductEntity): OutboxEvent {
  return recordEvent(em, 'catalog', PRODUCT_CHANGED, product.id, productChangedData(product));
}
