import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * A tradable market, keyed by its ccxt unified symbol (`BTC/USDT`). Prices and volumes are
 * Postgres `numeric`, mapped to decimal strings. The last price, 24 h change and volume are
 * written by the market feed in batches (at most once per flush interval), not on every tick.
 */
@Entity({ tableName: 'instrument' })
export class InstrumentEntity {
  [OptionalProps]?: 'change24h' | 'volume24h' | 'createdAt' | 'updatedAt';

  @PrimaryKey({ type: 'string', length: 40 })
  symbol!: string;

  @Property({ type: 'string', length: 20 })
  base!: string;

  @Property({ type: 'string', length: 20 })
  quote!: string;

  /** Where the price comes from: `paper` or a ccxt exchange id. */
  @Property({ type: 'string', length: 40 })
  exchange!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  lastPrice!: string;

  /** Percent, e.g. `-1.25`. */
  @Property({ type: 'decimal', columnType: 'numeric', nullable: true })
  change24h: string | null = null;

  @Property({ type: 'decimal', columnType: 'numeric', nullable: true })
  volume24h: string | null = null;

  /** Decimals of a price (the tick size is 10^-priceDecimals). */
  @Property({ type: 'integer' })
  priceDecimals!: number;

  /** Decimals of a quantity (the lot size is 10^-amountDecimals). */
  @Property({ type: 'integer' })
  amountDecimals!: number;

  /** Annualised volatility of the paper market's random walk, as a fraction. */
  @Property({ type: 'decimal', columnType: 'numeric' })
  volatility!: string;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  /** When the last price was observed. */
  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();
}
