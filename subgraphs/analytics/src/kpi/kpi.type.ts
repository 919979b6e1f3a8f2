import { Field, Int, ObjectType } from 'type-graphql';
import { Money } from '../shared/money';
import { TradingVolume } from '../trading/trading.type';

@ObjectType('Kpis', { description: 'Headline figures; "today" is the current UTC day.' })
export class Kpis {
  @Field(() => Date, { description: 'When the figures were read.' })
  asOf!: Date;

  @Field(() => String, { description: 'The current UTC day, YYYY-MM-DD.' })
  today!: string;

  @Field(() => Int)
  signupsToday!: number;

  @Field(() => Int, { description: 'Today and the 29 days before.' })
  signups30d!: number;

  @Field(() => Int, { description: 'Orders paid today, every currency.' })
  ordersToday!: number;

  @Field(() => [Money], { description: 'Payments taken today, one entry per currency.' })
  revenueToday!: Money[];

  @Field(() => String, {
    nullable: true,
    description: 'Checkouts that ended paid, in percent of those that ended paid or cancelled, today and the 29 days before (decimal string, two places); null before any.',
  })
  checkoutConversion30d!: string | null;

  @Field(() => Int)
  paymentFailuresToday!: number;

  @Field(() => [TradingVolume], { description: 'Fills of the current hour and the 23 before, per quote currency.' })
  tradingVolume24h!: TradingVolume[];

  @Field(() => Int, { description: 'Trade orders first seen today.' })
  tradeOrdersToday!: number;

  @Field(() => Int, { description: 'TradingView alerts received today.' })
  signalsToday!: number;

  @Field(() => Int, { description: 'Signals resolved today as WIN or LOSS (latest result).' })
  signalsResolvedToday!: number;

  @Field(() => Int)
  lowStockAlertsToday!: number;

  @Field(() => Int, { description: 'Plans bought today.' })
  planChangesToday!: number;
}
