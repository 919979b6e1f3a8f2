import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { money, plain } from '../shared/decimal';
import type { Plan } from './rebalance';

export enum RebalanceSide {
  BUY = 'BUY',
  SELL = 'SELL',
}
registerEnumType(RebalanceSide, { name: 'RebalanceSide' });

export enum RebalanceSkipReason {
  BELOW_MIN_NOTIONAL = 'BELOW_MIN_NOTIONAL',
  NO_PRICE = 'NO_PRICE',
}
registerEnumType(RebalanceSkipReason, {
  name: 'RebalanceSkipReason',
  valuesConfig: {
    BELOW_MIN_NOTIONAL: { description: 'The order would trade less than minNotional.' },
    NO_PRICE: { description: 'No price of the asset is known yet.' },
  },
});

@ObjectType('TargetAllocation', { description: 'The share of the portfolio value an asset should have.' })
export class TargetAllocation {
  @Field(() => String, { description: 'e.g. BTC; a quote stablecoin (USDT) is the share kept in cash.' })
  asset!: string;

  @Field(() => String, { description: 'A fraction; a portfolio\'s weights sum to 1.' })
  weight!: string;
}

@ObjectType('RebalanceOrder', { description: 'A market order of a rebalancing plan. Decimal strings.' })
export class RebalanceOrder {
  @Field(() => String)
  asset!: string;

  @Field(() => String, { description: 'The instrument to trade, e.g. BTC/USDT.' })
  symbol!: string;

  @Field(() => RebalanceSide)
  side!: RebalanceSide;

  @Field(() => String, { description: 'Base quantity, rounded down to 8 decimals.' })
  quantity!: string;

  @Field(() => String, { description: 'The price the plan assumed.' })
  price!: string;

  @Field(() => String, { description: 'quantity × price, in the portfolio currency.' })
  notional!: string;

  @Field(() => String)
  currentWeight!: string;

  @Field(() => String)
  targetWeight!: string;
}

@ObjectType('RebalanceSkip', { description: 'An asset off its target that the plan leaves alone.' })
export class RebalanceSkip {
  @Field(() => String)
  asset!: string;

  @Field(() => String)
  symbol!: string;

  @Field(() => RebalanceSkipReason)
  reason!: RebalanceSkipReason;

  @Field(() => String, { nullable: true, description: 'What the order would have traded; null without a price.' })
  notional!: string | null;
}

@ObjectType('RebalancePlan', { description: 'The orders that bring the portfolio to its target allocations: sells first, each side largest first.' })
export class RebalancePlan {
  @Field(() => String, { description: 'The portfolio value the plan is computed from.' })
  totalValue!: string;

  @Field(() => [RebalanceOrder])
  orders!: RebalanceOrder[];

  @Field(() => [RebalanceSkip])
  skipped!: RebalanceSkip[];
}

export function toRebalancePlan(plan: Plan): RebalancePlan {
  return Object.assign(new RebalancePlan(), {
    totalValue: money(plan.totalValue),
    orders: plan.orders.map((order) =>
      Object.assign(new RebalanceOrder(), {
        asset: order.asset,
        symbol: order.symbol,
        side: order.side as RebalanceSide,
        quantity: plain(order.quantity),
        price: plain(order.price),
        notional: money(order.notional),
        currentWeight: money(order.currentWeight),
        targetWeight: money(order.targetWeight),
      }),
    ),
    skipped: plan.skipped.map((skip) =>
      Object.assign(new RebalanceSkip(), {
        asset: skip.asset,
        symbol: skip.symbol,
        reason: skip.reason as RebalanceSkipReason,
        notional: skip.notional ? money(skip.notional) : null,
      }),
    ),
  });
}
