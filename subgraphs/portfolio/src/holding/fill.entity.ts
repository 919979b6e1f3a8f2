import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';
import type { Side } from './cost-basis';

/**
 * The ledger of every fill applied (trading's FillExecuted). The fill id is the key, so a fill
 * announced twice (even under two event ids) counts once; holdings are folds of these rows.
 */
@Entity({ tableName: 'fill' })
@Index({ properties: ['portfolioId', 'asset', 'executedAt'] })
export class FillEntity {
  @PrimaryKey({ type: 'string', length: 100 })
  fillId!: string;

  @Property({ type: 'uuid' })
  portfolioId!: string;

  @Property({ type: 'string', length: 100 })
  orderId!: string;

  @Property({ type: 'string', length: 20 })
  asset!: string;

  @Property({ type: 'string', length: 40 })
  symbol!: string;

  @Property({ type: 'string', length: 4 })
  side!: Side;

  @Property({ type: 'decimal', columnType: 'numeric' })
  quantity!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  price!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  fee!: string;

  @Property({ type: 'string', length: 20 })
  feeCurrency!: string;

  /** The fee in the quote currency, fixed when the fill was recorded (replays give the same figures). */
  @Property({ type: 'decimal', columnType: 'numeric' })
  feeValue!: string;

  @Property({ type: 'datetime' })
  executedAt!: Date;

  @Property({ type: 'datetime' })
  recordedAt: Date = new Date();
}
