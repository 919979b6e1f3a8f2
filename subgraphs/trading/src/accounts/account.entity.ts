import { randomUUID } from 'node:crypto';
import { Entity, Index, OptionalProps, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';

export type AccountKind = 'paper' | 'ccxt';

/**
 * Where a user trades: the built-in paper exchange, or a real exchange through ccxt. A ccxt
 * account's API key and secret are stored sealed (AES-256-GCM, kit/src/secrets.ts) and are
 * never read back by the API; `apiKeyHint` (the key's last four characters) lets a user tell keys apart.
 */
@Entity({ tableName: 'exchange_account' })
@Index({ properties: ['userId', 'createdAt'] })
export class ExchangeAccountEntity {
  [OptionalProps]?: 'id' | 'credentials' | 'apiKeyHint' | 'createdAt' | 'unlinkedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'string', length: 100 })
  userId!: string;

  @Property({ type: 'string', length: 10 })
  kind!: AccountKind;

  /** `paper`, or the ccxt exchange id (`binance`). */
  @Property({ type: 'string', length: 40 })
  exchangeId!: string;

  @Property({ type: 'string', length: 100 })
  label!: string;

  /** The sealed credentials (ccxt accounts only, `v1.<keyId>.…`); opened only to build the exchange adapter. */
  @Property({ type: 'text', nullable: true, lazy: true })
  credentials: string | null = null;

  @Property({ type: 'string', length: 8, nullable: true })
  apiKeyHint: string | null = null;

  /** Paper: fee on the quote notional of each fill, a fraction. */
  @Property({ type: 'decimal', columnType: 'numeric' })
  feeRate!: string;

  /** Paper: how much worse than the last price a market fill is, in basis points. */
  @Property({ type: 'decimal', columnType: 'numeric' })
  slippageBps!: string;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  /** Set by unlinkExchangeAccount: the account is hidden and takes no orders; its history stays. */
  @Property({ type: 'datetime', length: 3, nullable: true })
  unlinkedAt: Date | null = null;
}

/** One asset of a paper account. CHECK constraints keep `free` and `locked` at or above zero. */
@Entity({ tableName: 'paper_balance' })
export class PaperBalanceEntity {
  [PrimaryKeyProp]?: ['accountId', 'asset'];
  [OptionalProps]?: 'updatedAt';

  @PrimaryKey({ type: 'uuid' })
  accountId!: string;

  @PrimaryKey({ type: 'string', length: 20 })
  asset!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  free!: string;

  /** Reserved by open orders. */
  @Property({ type: 'decimal', columnType: 'numeric' })
  locked!: string;

  @Property({ type: 'datetime', length: 3 })
  updatedAt: Date = new Date();
}
