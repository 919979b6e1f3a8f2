import { ArgsType, Field } from 'type-graphql';

@ArgsType()
export class HoldingsArgs {
  @Field(() => Boolean, { defaultValue: false, description: 'Also the assets sold out (quantity 0) with their realized PnL.' })
  includeClosed!: boolean;
}
