import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, UseMiddleware, type MiddlewareFn } from 'type-graphql';
import { requireRole, type RequestContext } from '../../../kit/src';
import { Order } from './order.type';
import { RefundPaymentArgs } from './payment.input';
import type { PaymentService } from './payment.service';
import { Payment, Refund } from './payment.type';

/** Checks the role before arguments are validated, so a non-admin learns nothing about inputs. */
const adminOnly: MiddlewareFn<RequestContext> = ({ context }, next) => {
  requireRole(context.viewer, 'ADMIN');
  return next();
};

@Resolver(() => Payment)
export class PaymentResolver {
  constructor(private readonly service: PaymentService) {}

  @Query(() => Payment, { nullable: true, description: "A payment: the owner's or, for admins, any. Null when unknown or someone else's." })
  payment(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<Payment | null> {
    return this.service.payment(ctx, id);
  }

  @Mutation(() => Refund, { description: 'Admin: refund part or all of a SUCCEEDED or PARTIALLY_REFUNDED payment; never more in total than was paid.' })
  @UseMiddleware(adminOnly)
  refundPayment(@Args(() => RefundPaymentArgs) args: RefundPaymentArgs, @Ctx() ctx: RequestContext): Promise<Refund> {
    return this.service.refund(ctx, args);
  }

  @FieldResolver(() => String, { nullable: true, description: "Confirms a Stripe payment in the customer's browser; the owner's only." })
  clientSecret(@Root() payment: Payment, @Ctx() ctx: RequestContext): string | null {
    return this.service.clientSecret(ctx, payment);
  }

  @FieldResolver(() => [Refund], { description: 'Oldest first.' })
  refunds(@Root() payment: Payment, @Ctx() ctx: RequestContext): Promise<Refund[]> {
    return this.service.refunds(ctx, payment.id);
  }
}

@Resolver(() => Order)
export class OrderPaymentResolver {
  constructor(private readonly service: PaymentService) {}

  @FieldResolver(() => Payment, { nullable: true, description: "The order's payment; null before one is requested or when it is not the viewer's." })
  payment(@Root() order: Order, @Ctx() ctx: RequestContext): Promise<Payment | null> {
    return this.service.paymentOfOrder(ctx, order.id);
  }
}
