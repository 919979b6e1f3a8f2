import { Entity, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';

/** One asset's share of a portfolio's value that rebalancing aims for (a fraction; a portfolio's sum to 1). */
@Entity({ tableName: 'target_allocation' })
export class TargetAllocationEntity {
  [PrimaryKeyProp]?: ['portfolioId', 'asset'];

  @PrimaryKey({ type: 'uuid' })
  portfolioId!: string;

  @PrimaryKey({ type: 'string', length: 20 })
  asset!: string;

  @Property({ type: 'decimal', columnType: 'numeric' })
  weight!: string;
}
