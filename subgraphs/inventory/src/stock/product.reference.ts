import type { ProductRepresentation } from './product.type';

/**
 * Inventory stores nothing about products themselves: a Product reference is the router's
 * representation (`id` plus the `kind` required from catalog), handed to `Product.stock`.
 * Returning it as is keeps `_entities` synchronous, so all `stock` fields of one call batch.
 */
export const productReferences = {
  Product: {
    __resolveReference: (reference: ProductRepresentation): ProductRepresentation => ({ id: reference.id, kind: reference.kind }),
  },
};
