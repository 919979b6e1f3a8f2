import { Directive, Field, ID, ObjectType } from 'type-graphql';
import type { Holding } from '../holding/holding.type';
import type { PortfolioValue } from './valuation';

@ObjectType('Portfolio', {
  description:
    'A user\'s holdings built from their fills, valued at live prices. Every value is a decimal string in `currency`; quote stablecoins (USDT, USDC, …) count 1:1.',
})
@Directive('@key(fields: "id")')
export class Portfolio {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  userId!: string;

  @Field(() => String, { description: 'The currency every value is in, e.g. USDT.' })
  currency!: string;

  @Field(() => String, { description: 'Market value of the open holdings; a holding without a price yet counts at its cost basis (see unpricedAssets).' })
  totalValue!: string;

  @Field(() => String, { description: 'What the open holdings cost, buy fees included.' })
  costBasis!: string;

  @Field(() => String, { description: 'Quote paid for buys minus quote received from sells: totalValue − netInvested = realizedPnl + unrealizedPnl.' })
  netInvested!: string;

  @Field(() => String, { description: 'Profit or loss of every sell, after fees.' })
  realizedPnl!: string;

  @Field(() => String, { description: 'Market value minus cost basis of the priced open holdings.' })
  unrealizedPnl!: string;

  @Field(() => String, { description: 'realizedPnl + unrealizedPnl.' })
  totalPnl!: string;

  @Field(() => String, { description: 'Every fee paid, in the portfolio currency.' })
  fees!: string;

  @Field(() => [String], { description: 'Open holdings without a known price yet.' })
  unpricedAssets!: string[];

  @Field(() => Date, { nullable: true, description: 'The newest of the last fill and the prices used; null for an empty portfolio.' })
  updatedAt!: Date | null;

  /** Every holding, closed ones included (the `holdings` field filters). */
  allHoldings!: Holding[];

  /** The valuation the figures come from (rebalancing plans from it). */
  value!: PortfolioValue;
}
