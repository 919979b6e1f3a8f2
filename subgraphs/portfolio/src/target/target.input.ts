import { ArrayMaxSize, Matches, ValidateNested } from 'class-validator';
import { ArgsType, Field, InputType } from 'type-graphql';
import { DECIMAL_PATTERN } from '../shared/decimal';
import { ASSET_PATTERN } from '../shared/ids';

export const MAX_TARGETS = 50;

@InputType('TargetAllocationInput')
export class TargetAllocationInput {
  @Field(() => String, { description: 'An asset code such as BTC; a quote stablecoin (USDT) is the share kept in cash.' })
  @Matches(ASSET_PATTERN, { message: 'asset must be an asset code such as BTC' })
  asset!: string;

  @Field(() => String, { description: 'A decimal string: all weights sum to 1 (fractions) or to 100 (percent).' })
  @Matches(DECIMAL_PATTERN, { message: 'weight must be a non-negative decimal string such as "0.25"' })
  weight!: string;
}

@ArgsType()
export class SetTargetAllocationsArgs {
  @Field(() => [TargetAllocationInput], { description: `At most ${MAX_TARGETS} distinct assets; an empty list removes every target.` })
  @ArrayMaxSize(MAX_TARGETS, { message: `at most ${MAX_TARGETS} target allocations` })
  @ValidateNested({ each: true })
  targets!: TargetAllocationInput[];
}

@ArgsType()
export class RebalancePlanArgs {
  @Field(() => String, { defaultValue: '0', description: 'Orders trading less than this (in the portfolio currency) are skipped, e.g. the exchange minimum of "10".' })
  @Matches(DECIMAL_PATTERN, { message: 'minNotional must be a non-negative decimal string such as "10"' })
  minNotional!: string;
}
