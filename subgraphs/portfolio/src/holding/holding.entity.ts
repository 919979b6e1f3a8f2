import { Entity, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';

/**
 * What a portfolio holds of one asset, folded from its fills (cost-basis.ts). Amounts are Postgres
 * `numeric`, mapped to decimal strings; a position sold to zero keeps its row for its realized PnL.
 */
@Entity({ tableName: 'holding' })
export class HoldingEntity {
  [PrimaryKeyProp]?: ['portfolioId', 'asset'];

  @PrimaryKey({ type: 'uuid' })
  portfolioId!: string;

  /** The base currency, e.g. BTC. */
  @PrimaryKey({ type: 'string', length: 20 })
  asset!: string;

  /** The instrument whose price values the holding: the symbol of its first fill, e.g. BTC/USDT. */
  @Property({ type: 'string', length: 40 })
  symbol!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  quantity!: string;

  /** Quote paid for the quantity held, buy fees included. */
  @Property({ type: 'decimal', columnType: 'numeric' })
  costBasis!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  realizedPnl!: string;

  /** Every fee of the asset's fills, in the quote currency. */
  @Property({ type: 'decimal', columnType: 'numeric' })
  fees!: string;

  /** Quote paid for buys minus quote received from sells. */
  @Property({ type: 'decimal', columnType: 'numeric' })
  netInvested!: string;

  @Property({ type: 'integer' })
  fillCount!: number;

  /** The latest fill applied (by execution time, then fill id): an older one arriving later replays the ledger. */
  @Property({ type: 'datetime' })
  lastFillAt!: Date;

  @Property({ type: 'string', length: 100 })
  lastFillId!: string;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}
