import type { RequestContext } from '../../../kit/src';
import type { PaymentService } from './payment.service';
import type { Order } from './order.type';
import type { Payment } from './payment.type';

/**
 * `_entities`: a Payment reference resolves like `payment(id)` (null unless the viewer's or an
 * admin's); an Order reference is just its key, handed to `Order.payment`, which batches.
 */
export const paymentReferences = (service: PaymentService) => ({
  Payment: {
    __resolveReference: (reference: { id: string }, ctx: RequestContext): Promise<Payment | null> => service.payment(ctx, reference.id),
  },
  Order: {
    __resolveReference: (reference: { id: string }): Order => ({ id: reference.id }),
  },
});
