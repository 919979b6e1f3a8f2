import { IsIn, IsOptional, Matches, Max, MaxLength, Min } from 'class-validator';
import { ArgsType, Field, Int } from 'type-graphql';
import { TIMEFRAME_NAMES } from './timeframes';

export const MAX_CANDLES = 1_000;
export const MAX_SYMBOL_LENGTH = 40;
export const MAX_SUBSCRIBED_SYMBOLS = 20;
/** A ccxt unified spot symbol: BASE/QUOTE in capitals and digits. */
export const SYMBOL_PATTERN = /^[A-Z0-9]{1,20}\/[A-Z0-9]{1,19}$/;

@ArgsType()
export class CandlesArgs {
  @Field(() => String, { description: 'ccxt unified symbol, e.g. BTC/USDT.' })
  @MaxLength(MAX_SYMBOL_LENGTH, { message: `symbol must be at most ${MAX_SYMBOL_LENGTH} characters` })
  @Matches(SYMBOL_PATTERN, { message: 'symbol must look like BTC/USDT' })
  symbol!: string;

  @Field(() => String, { description: `One of ${TIMEFRAME_NAMES.join(', ')}.` })
  @IsIn(TIMEFRAME_NAMES, { message: `timeframe must be one of ${TIMEFRAME_NAMES.join(', ')}` })
  timeframe!: string;

  @Field(() => Date, { nullable: true, description: 'Candles opening at or after this time. Default: as far back as `limit` candles before `to`.' })
  @IsOptional()
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Candles opening before this time. Default: now.' })
  @IsOptional()
  to?: Date | null;

  @Field(() => Int, { nullable: true, description: `At most this many candles, the latest of the range (1 to ${MAX_CANDLES}, default ${MAX_CANDLES}).` })
  @IsOptional()
  @Min(1, { message: 'limit must be at least 1' })
  @Max(MAX_CANDLES, { message: `limit must be at most ${MAX_CANDLES}` })
  limit?: number | null;
}
