import { Field, Int, ObjectType } from 'type-graphql';
import { Money } from '../shared/money';

@ObjectType('SalesDay', { description: 'Sales of one UTC day in the report currency.' })
export class SalesDay {
  @Field(() => String, { description: 'The UTC day, YYYY-MM-DD.' })
  date!: string;

  @Field(() => Int, { description: 'Orders paid that day.' })
  orders!: number;

  @Field(() => Money, { description: 'Payments taken that day.' })
  revenue!: Money;

  @Field(() => Money, { description: 'Refunds issued that day (less any Stripe later failed).' })
  refunds!: Money;

  @Field(() => Money, { description: 'revenue - refunds.' })
  net!: Money;
}

@ObjectType('SalesReport', { description: 'Sales of one currency over whole UTC days, counted when the money moved (payments, refunds).' })
export class SalesReport {
  @Field(() => String, { description: 'ISO 4217 code every amount is in.' })
  currency!: string;

  @Field(() => String, { description: 'First UTC day of the report (the day of `from`), YYYY-MM-DD.' })
  from!: string;

  @Field(() => String, { description: 'Last UTC day of the report (the day of `to`, included), YYYY-MM-DD.' })
  to!: string;

  @Field(() => Int, { description: 'Orders paid.' })
  orders!: number;

  @Field(() => Money)
  revenue!: Money;

  @Field(() => Money)
  refunds!: Money;

  @Field(() => Money, { description: 'revenue - refunds.' })
  net!: Money;

  @Field(() => Money, { nullable: true, description: 'revenue / orders, rounded half up to a minor unit; null without orders.' })
  averageOrderValue!: Money | null;

  @Field(() => [SalesDay], { description: 'Every day of the range in order, days without sales included.' })
  days!: SalesDay[];
}

@ObjectType('ProductSalesStats', { description: 'What a product sold since analytics started counting.' })
export class ProductSalesStats {
  @Field(() => Int, { description: 'Units in paid and confirmed orders.' })
  unitsSold!: number;

  @Field(() => Int, { description: 'Units in approved returns.' })
  unitsReturned!: number;

  @Field(() => [Money], { description: "The product's share of what its orders paid, one entry per currency sold in (empty before any sale)." })
  revenue!: Money[];
}
