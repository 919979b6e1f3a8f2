import type { RequestContext } from '../../../kit/src';
import { resolveProductReference } from './product.service';

/** `_entities` for `Product`: every reference in one operation shares one batched query. */
export const productReferences = {
  Product: {
    __resolveReference: (reference: { id: string }, ctx: RequestContext) => resolveProductReference(ctx, reference.id),
  },
};
