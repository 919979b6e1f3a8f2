import { Field, ObjectType } from 'type-graphql';
import { money, plain } from '../shared/decimal';
import type { HoldingValue } from '../portfolio/valuation';

@ObjectType('Holding', {
  description:
    'What a portfolio holds of one asset, from its fills: weighted average cost, fees included. Quantities, prices and values are decimal strings; values are in the portfolio currency.',
})
export class Holding {
  @Field(() => String, { description: 'The base currency, e.g. BTC.' })
  asset!: string;

  @Field(() => String, { description: 'The instrument that prices the holding, e.g. BTC/USDT.' })
  symbol!: string;

  @Field(() => String, { description: 'Units held; 0 once sold out (the holding stays for its realized PnL).' })
  quantity!: string;

  @Field(() => String, { nullable: true, description: 'costBasis ÷ quantity, buy fees included; null when nothing is held.' })
  averageCost!: string | null;

  @Field(() => String, { description: 'What the units held cost, buy fees included.' })
  costBasis!: string;

  @Field(() => String, { nullable: true, description: 'The latest price of the symbol (tick or fill); null while none is known.' })
  marketPrice!: string | null;

  @Field(() => Date, { nullable: true, description: 'When marketPrice was observed.' })
  priceUpdatedAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'quantity × marketPrice; null without a price.' })
  marketValue!: string | null;

  @Field(() => String, { nullable: true, description: 'marketValue − costBasis; null without a price.' })
  unrealizedPnl!: string | null;

  @Field(() => String, { description: 'Profit or loss of the sells so far, after every fee: Σ (sell price − average cost) × quantity − fees.' })
  realizedPnl!: string;

  @Field(() => String, { description: 'Every fee paid on the fills of this asset, in the portfolio currency.' })
  fees!: string;

  @Field(() => String, { description: 'Share of the portfolio total value, a fraction (0.25 = 25 %).' })
  weight!: string;

  @Field(() => Date, { description: 'When the last fill was applied.' })
  updatedAt!: Date;
}

export function toHolding(value: HoldingValue): Holding {
  return Object.assign(new Holding(), {
    asset: value.asset,
    symbol: value.symbol,
    quantity: plain(value.quantity),
    averageCost: value.averageCost ? money(value.averageCost) : null,
    costBasis: money(value.costBasis),
    marketPrice: value.marketPrice ? plain(value.marketPrice) : null,
    priceUpdatedAt: value.priceAt,
    marketValue: value.marketValue ? money(value.marketValue) : null,
    unrealizedPnl: value.unrealizedPnl ? money(value.unrealizedPnl) : null,
    realizedPnl: money(value.realizedPnl),
    fees: money(value.fees),
    weight: money(value.weight),
    updatedAt: value.updatedAt,
  });
}
