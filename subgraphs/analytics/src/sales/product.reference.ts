import type { Product } from './product.type';

/** A Product reference is its id; `salesStats` looks the figures up (batched) and checks who asks. */
export const productReferences = {
  Product: {
    __resolveReference: (reference: { id: string }): Product => ({ id: reference.id }),
  },
};
