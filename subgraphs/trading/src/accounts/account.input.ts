import { ArrayMaxSize, IsOptional, Length, Matches, MaxLength, ValidateNested } from 'class-validator';
import { Field, InputType } from 'type-graphql';
import { ExchangeAccountKind } from './account.type';

export const ASSET_PATTERN = /^[A-Z0-9]{1,20}$/;
export const DECIMAL_PATTERN = /^\d{1,20}(\.\d{1,18})?$/;
export const EXCHANGE_ID_PATTERN = /^[a-z0-9]{2,40}$/;
export const MAX_STARTING_BALANCES = 20;
/** Credentials are checked by length only: messages never repeat what was sent. */
export const MAX_CREDENTIAL_LENGTH = 512;

@InputType('BalanceInput')
export class BalanceInput {
  @Field(() => String, { description: 'Asset code in capitals, e.g. USDT.' })
  @Matches(ASSET_PATTERN, { message: 'asset must be 1 to 20 capital letters or digits, e.g. USDT' })
  asset!: string;

  @Field(() => String, { description: 'A decimal string, e.g. "10000".' })
  @Matches(DECIMAL_PATTERN, { message: 'amount must be a non-negative decimal string such as "10000"' })
  amount!: string;
}

@InputType('LinkExchangeAccountInput')
export class LinkExchangeAccountInput {
  @Field(() => ExchangeAccountKind, { nullable: true, description: 'Default PAPER.' })
  @IsOptional()
  kind?: ExchangeAccountKind | null;

  @Field(() => String, { nullable: true, description: 'CCXT: the ccxt exchange id, e.g. "binance". Ignored for PAPER.' })
  @IsOptional()
  @Matches(EXCHANGE_ID_PATTERN, { message: 'exchangeId must be a ccxt exchange id such as binance' })
  exchangeId?: string | null;

  @Field(() => String, { nullable: true, description: 'Default "Paper" or the exchange id.' })
  @IsOptional()
  @Length(1, 100, { message: 'label must be 1 to 100 characters' })
  label?: string | null;

  @Field(() => String, { nullable: true, description: 'CCXT: the API key. Stored encrypted, never returned.' })
  @IsOptional()
  @MaxLength(MAX_CREDENTIAL_LENGTH, { message: `apiKey must be at most ${MAX_CREDENTIAL_LENGTH} characters` })
  apiKey?: string | null;

  @Field(() => String, { nullable: true, description: 'CCXT: the API secret. Stored encrypted, never returned.' })
  @IsOptional()
  @MaxLength(MAX_CREDENTIAL_LENGTH, { message: `secret must be at most ${MAX_CREDENTIAL_LENGTH} characters` })
  secret?: string | null;

  @Field(() => String, { nullable: true, description: 'CCXT: a passphrase, for exchanges that want one (OKX, KuCoin). Stored encrypted.' })
  @IsOptional()
  @MaxLength(MAX_CREDENTIAL_LENGTH, { message: `password must be at most ${MAX_CREDENTIAL_LENGTH} characters` })
  password?: string | null;

  @Field(() => [BalanceInput], { nullable: true, description: 'PAPER: starting balances (default from the server, e.g. 10000 USDT).' })
  @IsOptional()
  @ArrayMaxSize(MAX_STARTING_BALANCES, { message: `at most ${MAX_STARTING_BALANCES} starting balances` })
  @ValidateNested({ each: true })
  startingBalances?: BalanceInput[] | null;

  @Field(() => String, { nullable: true, description: 'PAPER: fee rate as a fraction below 1, e.g. "0.001" (the server default otherwise).' })
  @IsOptional()
  @Matches(DECIMAL_PATTERN, { message: 'feeRate must be a decimal string such as "0.001"' })
  feeRate?: string | null;

  @Field(() => String, { nullable: true, description: 'PAPER: slippage of market fills in basis points, below 10000 (the server default otherwise).' })
  @IsOptional()
  @Matches(DECIMAL_PATTERN, { message: 'slippageBps must be a decimal string such as "5"' })
  slippageBps?: string | null;
}
