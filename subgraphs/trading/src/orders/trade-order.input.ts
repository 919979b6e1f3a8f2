import { ArrayMaxSize, IsInt, IsOptional, Length, Matches, Max, MaxLength, Min, ValidateIf, ValidateNested } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { SYMBOL_PATTERN } from '../market/market.input';
import { TradeOrderStatus, TradeOrderType, TradeSide } from './trade-order.model';

export const MAX_CLIENT_ORDER_ID_LENGTH = 48;
/** Letters, digits and . _ : / - (what exchanges accept in their own client order ids). */
export const CLIENT_ORDER_ID_PATTERN = /^[A-Za-z0-9._:/-]{1,48}$/;
export const DECIMAL_INPUT = /^\d{1,20}(\.\d{1,18})?$/;
const DECIMAL_MESSAGE = (field: string) => `${field} must be a decimal string such as "0.5"`;
export const DEFAULT_TRADE_ORDERS_PAGE = 20;

@InputType('PlaceTradeOrderInput', { description: 'Which fields a type needs: see TradeOrderType. Prices and quantities are decimal strings.' })
export class PlaceTradeOrderInput {
  @Field(() => ID, { description: 'One of your exchange accounts.' })
  accountId!: string;

  @Field(() => String, { description: `Chosen by the client, 1 to ${MAX_CLIENT_ORDER_ID_LENGTH} of A-Z a-z 0-9 . _ : / -: the same id again returns the order the first request placed.` })
  @Matches(CLIENT_ORDER_ID_PATTERN, { message: `clientOrderId must be 1 to ${MAX_CLIENT_ORDER_ID_LENGTH} characters of A-Z a-z 0-9 . _ : / -` })
  clientOrderId!: string;

  @Field(() => String, { description: 'ccxt unified symbol, e.g. BTC/USDT.' })
  @Matches(SYMBOL_PATTERN, { message: 'symbol must look like BTC/USDT' })
  symbol!: string;

  @Field(() => TradeSide)
  side!: TradeSide;

  @Field(() => TradeOrderType)
  type!: TradeOrderType;

  @Field(() => String, { description: 'Base quantity, within the instrument\'s decimals.' })
  @Matches(DECIMAL_INPUT, { message: DECIMAL_MESSAGE('quantity') })
  quantity!: string;

  @Field(() => String, { nullable: true, description: 'Limit price: LIMIT, STOP_LIMIT, ICEBERG; optional for TAKE_PROFIT (a limit once triggered).' })
  @IsOptional()
  @Matches(DECIMAL_INPUT, { message: DECIMAL_MESSAGE('price') })
  price?: string | null;

  @Field(() => String, { nullable: true, description: 'Trigger price: STOP_MARKET, STOP_LIMIT, TAKE_PROFIT.' })
  @IsOptional()
  @Matches(DECIMAL_INPUT, { message: DECIMAL_MESSAGE('stopPrice') })
  stopPrice?: string | null;

  @Field(() => String, { nullable: true, description: 'TRAILING_STOP: distance in percent (exactly one of trailingPercent and trailingAmount).' })
  @IsOptional()
  @Matches(DECIMAL_INPUT, { message: DECIMAL_MESSAGE('trailingPercent') })
  trailingPercent?: string | null;

  @Field(() => String, { nullable: true, description: 'TRAILING_STOP: distance in quote units.' })
  @IsOptional()
  @Matches(DECIMAL_INPUT, { message: DECIMAL_MESSAGE('trailingAmount') })
  trailingAmount?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'TRAILING_STOP: trailing starts once the price reaches it (a SELL once it rises to it, a BUY once it falls to it); at once when absent or already reached.',
  })
  @IsOptional()
  @Matches(DECIMAL_INPUT, { message: DECIMAL_MESSAGE('activationPrice') })
  activationPrice?: string | null;

  @Field(() => String, { nullable: true, description: 'ICEBERG: the quantity shown (and filled) at a time.' })
  @IsOptional()
  @Matches(DECIMAL_INPUT, { message: DECIMAL_MESSAGE('visibleQuantity') })
  visibleQuantity?: string | null;

  @Field(() => Int, { nullable: true, description: 'TWAP: over how many milliseconds the slices are spread.' })
  @IsOptional()
  @IsInt()
  @Min(0, { message: 'twapDurationMs must not be negative' })
  twapDurationMs?: number | null;

  @Field(() => Int, { nullable: true, description: 'TWAP: how many market orders the quantity is split into (1 to 100).' })
  @IsOptional()
  @IsInt()
  @Min(1, { message: 'twapSlices must be at least 1' })
  @Max(100, { message: 'twapSlices must be at most 100' })
  twapSlices?: number | null;

  @Field(() => String, { nullable: true, description: 'Attached take-profit: once this order fills, an opposite TAKE_PROFIT at this price, OCO with the stop-loss.' })
  @IsOptional()
  @Matches(DECIMAL_INPUT, { message: DECIMAL_MESSAGE('takeProfitPrice') })
  takeProfitPrice?: string | null;

  @Field(() => String, { nullable: true, description: 'Attached stop-loss: once this order fills, an opposite STOP_MARKET at this price, OCO with the take-profit.' })
  @IsOptional()
  @Matches(DECIMAL_INPUT, { message: DECIMAL_MESSAGE('stopLossPrice') })
  stopLossPrice?: string | null;
}

@InputType('TradeOrdersFilter')
export class TradeOrdersFilter {
  @Field(() => ID, { nullable: true })
  @IsOptional()
  accountId?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(40)
  symbol?: string | null;

  @Field(() => [TradeOrderStatus], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(7)
  status?: TradeOrderStatus[] | null;

  @Field(() => TradeSide, { nullable: true })
  @IsOptional()
  side?: TradeSide | null;

  @Field(() => TradeOrderType, { nullable: true })
  @IsOptional()
  type?: TradeOrderType | null;
}

@ArgsType()
export class TradeOrdersArgs {
  @Field(() => TradeOrdersFilter, { nullable: true })
  @IsOptional()
  @ValidateNested()
  filter?: TradeOrdersFilter | null;

  @Field(() => Int, { nullable: true, description: `Page size (default ${DEFAULT_TRADE_ORDERS_PAGE}).` })
  @ValidateIf((_args, value) => value !== null && value !== undefined)
  @IsInt()
  @Min(1, { message: 'first must be at least 1' })
  @Max(500, { message: 'first must be at most 500' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'The endCursor of the previous page.' })
  @ValidateIf((_args, value) => value !== null && value !== undefined)
  @Length(1, 256)
  after?: string | null;
}
