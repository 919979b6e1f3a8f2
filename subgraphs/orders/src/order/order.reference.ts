import type { RequestContext } from '../../../kit/src';
import type { OrderService } from './order.service';

/** `_entities` for Order: batched through the request's loader; null for orders the viewer may not see. */
export const orderReferences = (service: OrderService) => ({
  Order: {
    __resolveReference: (reference: { id: string }, ctx: RequestContext) => service.reference(ctx, reference.id),
  },
});
