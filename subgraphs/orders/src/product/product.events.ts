import { occurredAtOf, payloadReader, withinTransaction, type EventEnvelope } from '../shared/events';
import type { EntityManager } from '../../../kit/src';
import { PRODUCT_KINDS, type ProductKind } from './product-kind';

export const PRODUCT_CHANGED = 'ProductChanged';

/** `data` of catalog's `ProductChanged` (version 1). */
export interface ProductChangedData {
  productId: string;
  sku: string;
  /** Absent from events sent before catalog added it. */
  name: string | null;
  kind: ProductKind;
  priceAmount: number;
  currency: string;
  active: boolean;
}

export function readProductChanged(envelope: EventEnvelope): ProductChangedData {
  const read = payloadReader(envelope);
  return {
    productId: read.string('productId', 100),
    sku: read.string('sku', 100),
    name: read.optionalString('name', 200),
    kind: read.oneOf('kind', PRODUCT_KINDS as readonly ProductKind[]),
    priceAmount: read.int('priceAmount'),
    currency: read.currency('currency'),
    active: read.boolean('active'),
  };
}

/**
 * Upserts the product's snapshot in one statement. The row keeps the `occurredAt` of the event it
 * reflects, and an event not newer than that changes nothing: events arriving out of order or
 * redelivered never bring an old price back. Two concurrent deliveries serialize on the row.
 */
export async function handleProductChanged(em: EntityManager, envelope: EventEnvelope): Promise<void> {
  const product = readProductChanged(envelope);
  const occurredAt = occurredAtOf(envelope);
  await withinTransaction(em, (tx) =>
    tx.execute(
      `insert into "product_snapshot" ("product_id", "sku", "name", "kind", "price_amount", "currency", "active", "source_occurred_at", "updated_at")
       values (?, ?, ?, ?, ?, ?, ?, ?, now())
       on conflict ("product_id") do update set
         "sku" = excluded."sku", "name" = excluded."name", "kind" = excluded."kind", "price_amount" = excluded."price_amount",
         "currency" = excluded."currency", "active" = excluded."active",
         "source_occurred_at" = excluded."source_occurred_at", "updated_at" = now()
       where "product_snapshot"."source_occurred_at" < excluded."source_occurred_at"`,
      [product.productId, product.sku, product.name, product.kind, product.priceAmount, product.currency, product.active, occurredAt],
      'run',
    ),
  );
}
