import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType('TradingStats', { description: "A user's fills in one quote currency, since analytics started counting." })
export class TradingStats {
  @Field(() => String, { description: 'Quote currency of the instruments traded, e.g. USDT.' })
  quote!: string;

  @Field(() => Int)
  fills!: number;

  @Field(() => String, { description: 'Sum of quantity × price, in the quote currency (decimal string).' })
  volume!: string;

  @Field(() => String, {
    description: 'Fees in the quote currency (decimal string); fees charged in the base asset are valued at the fill price, fees in a third currency are left out.',
  })
  fees!: string;

  @Field(() => Date)
  lastFillAt!: Date;
}

@ObjectType('TradingVolume', { description: 'Fills and volume of one quote currency over a period.' })
export class TradingVolume {
  @Field(() => String)
  quote!: string;

  @Field(() => Int)
  fills!: number;

  @Field(() => String, { description: 'Sum of quantity × price, in the quote currency (decimal string).' })
  volume!: string;
}
