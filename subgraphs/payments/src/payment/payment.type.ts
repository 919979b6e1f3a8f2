import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Money } from '../shared/money.type';
import { PaymentStatus, RefundStatus } from './payment-status';

registerEnumType(PaymentStatus, {
  name: 'PaymentStatus',
  valuesConfig: {
    PENDING: { description: 'Recorded, the provider not asked yet.' },
    REQUIRES_ACTION: { description: 'The customer must confirm the payment with the client secret (Stripe).' },
    SUCCEEDED: { description: 'Paid.' },
    FAILED: { description: 'Declined or refused by the provider.' },
    CANCELLED: { description: 'The order was cancelled before the payment completed; nothing was charged (money taken anyway is refunded automatically).' },
    REFUNDED: { description: 'Paid, then refunded in full.' },
    PARTIALLY_REFUNDED: { description: 'Paid, then refunded in part.' },
  },
});

registerEnumType(RefundStatus, {
  name: 'RefundStatus',
  valuesConfig: {
    PENDING: { description: 'Asked for; the provider has not confirmed it yet.' },
    SUCCEEDED: { description: 'Money returned (Stripe may still report a later failure).' },
    FAILED: { description: 'The refund did not go through; the amount may be refunded again.' },
  },
});

@ObjectType('Refund', { description: 'Money given back on a payment.' })
export class Refund {
  @Field(() => ID)
  id!: string;

  @Field(() => Money)
  amount!: Money;

  @Field(() => RefundStatus)
  status!: RefundStatus;

  @Field(() => String, { nullable: true, description: 'Why, as given by the admin (or by Stripe for refunds made there).' })
  reason!: string | null;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType('Payment', { description: 'The payment of one order. Visible to the customer who placed the order and to admins.' })
@Directive('@key(fields: "id")')
export class Payment {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  orderId!: string;

  @Field(() => PaymentStatus)
  status!: PaymentStatus;

  @Field(() => Money)
  amount!: Money;

  @Field(() => String, { description: '`dev` (built-in development provider) or `stripe`.' })
  provider!: string;

  @Field(() => Date)
  createdAt!: Date;

  /** Not a field: who may read the payment. */
  userId!: string;

  /** Not a field: `clientSecret` resolves it for the owner only. */
  secret!: string | null;
}
