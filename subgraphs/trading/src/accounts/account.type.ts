import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { plain } from '../shared/decimal';
import type { ExchangeAccountEntity } from './account.entity';

export enum ExchangeAccountKind {
  PAPER = 'PAPER',
  CCXT = 'CCXT',
}

registerEnumType(ExchangeAccountKind, {
  name: 'ExchangeAccountKind',
  description: 'PAPER: the built-in simulated exchange (fills against the market feed). CCXT: a real exchange through ccxt, with your API key.',
});

/** An exchange account; its API credentials are stored sealed and never leave the server. */
@ObjectType('ExchangeAccount', { description: 'Where orders go. Only its owner sees it; API keys and secrets are never returned.' })
@Directive('@key(fields: "id")')
export class ExchangeAccount {
  @Field(() => ID)
  id!: string;

  @Field(() => ExchangeAccountKind)
  kind!: ExchangeAccountKind;

  @Field(() => String, { description: '"paper", or the ccxt exchange id such as "binance".' })
  exchangeId!: string;

  @Field(() => String)
  label!: string;

  @Field(() => String, { nullable: true, description: 'The last four characters of the API key (CCXT accounts), to tell keys apart.' })
  apiKeyHint!: string | null;

  @Field(() => String, { description: 'PAPER: fee on the quote notional of each fill, a fraction such as "0.001" (0.1 %). CCXT: "0" (the exchange charges its own).' })
  feeRate!: string;

  @Field(() => String, { description: 'PAPER: market fills are this many basis points worse than the last price. CCXT: "0".' })
  slippageBps!: string;

  @Field(() => Date)
  createdAt!: Date;

  /** Not a field: the owner, for access checks. */
  userId!: string;
}

@ObjectType('Balance', { description: 'One asset of an account. Decimal strings; total = free + locked.' })
export class Balance {
  @Field(() => String)
  asset!: string;

  @Field(() => String, { description: 'Available for new orders.' })
  free!: string;

  @Field(() => String, { description: 'Reserved by open orders.' })
  locked!: string;

  @Field(() => String)
  total!: string;
}

export function toExchangeAccount(row: ExchangeAccountEntity): ExchangeAccount {
  return Object.assign(new ExchangeAccount(), {
    id: row.id,
    kind: row.kind === 'paper' ? ExchangeAccountKind.PAPER : ExchangeAccountKind.CCXT,
    exchangeId: row.exchangeId,
    label: row.label,
    apiKeyHint: row.apiKeyHint,
    feeRate: plain(row.feeRate),
    slippageBps: plain(row.slippageBps),
    createdAt: row.createdAt,
    userId: row.userId,
  });
}
