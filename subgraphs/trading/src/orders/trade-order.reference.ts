import type { RequestContext } from '../../../kit/src';
import type { TradeOrderService } from './trade-order.service';

/** `_entities` for TradeOrder: batched; null for orders the viewer may not see. */
export const tradeOrderReferences = (service: TradeOrderService) => ({
  TradeOrder: {
    __resolveReference: (reference: { id: string }, ctx: RequestContext) => service.reference(ctx, reference.id),
  },
});
