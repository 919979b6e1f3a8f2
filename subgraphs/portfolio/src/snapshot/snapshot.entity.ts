import { Entity, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';

/**
 * A portfolio's value at one snapshot time. The key (portfolio, time) is the guard against a
 * second snapshot job of the same period: its rows are not written twice.
 */
@Entity({ tableName: 'portfolio_snapshot' })
export class SnapshotEntity {
  [PrimaryKeyProp]?: ['portfolioId', 'takenAt'];

  @PrimaryKey({ type: 'uuid' })
  portfolioId!: string;

  @PrimaryKey({ type: 'datetime' })
  takenAt!: Date;

  @Property({ type: 'decimal', columnType: 'numeric' })
  totalValue!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  netInvested!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  costBasis!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  realizedPnl!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  unrealizedPnl!: string;
}
