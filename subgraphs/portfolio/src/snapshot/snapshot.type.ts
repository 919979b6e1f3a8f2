import { Field, Int, ObjectType } from 'type-graphql';
import { Dec, money } from '../shared/decimal';
import type { RiskFigures } from './risk-metrics';
import type { SnapshotEntity } from './snapshot.entity';

@ObjectType('PortfolioSnapshot', { description: 'A portfolio\'s value at one snapshot time (taken every SNAPSHOT_INTERVAL_SECONDS).' })
export class PortfolioSnapshot {
  @Field(() => Date)
  takenAt!: Date;

  @Field(() => String)
  totalValue!: string;

  @Field(() => String)
  netInvested!: string;

  @Field(() => String)
  costBasis!: string;

  @Field(() => String)
  realizedPnl!: string;

  @Field(() => String)
  unrealizedPnl!: string;
}

@ObjectType('RiskMetrics', {
  description:
    'Risk figures from the value snapshots, on returns net of buys and sells: r = (V_i − V_{i−1} − (F_i − F_{i−1})) / V_{i−1}, F = netInvested. ' +
    'Fractions as decimal strings (0.05 = 5 %); null when there are too few returns.',
})
export class RiskMetrics {
  @Field(() => Int, { description: 'Period returns the figures come from.' })
  samples!: number;

  @Field(() => String, { nullable: true, description: 'Largest peak-to-trough fall of the return index ∏(1 + r).' })
  maxDrawdown!: string | null;

  @Field(() => String, { nullable: true, description: 'One-period historical VaR at 95 %: max(0, −q) with q the ⌈0.05 n⌉-th smallest return.' })
  var95!: string | null;

  @Field(() => String, { nullable: true, description: 'Sample standard deviation of the returns, per snapshot period (needs two returns).' })
  volatility!: string | null;
}

export function toSnapshot(row: SnapshotEntity): PortfolioSnapshot {
  const shown = (value: string) => money(new Dec(String(value)));
  return Object.assign(new PortfolioSnapshot(), {
    takenAt: row.takenAt,
    totalValue: shown(row.totalValue),
    netInvested: shown(row.netInvested),
    costBasis: shown(row.costBasis),
    realizedPnl: shown(row.realizedPnl),
    unrealizedPnl: shown(row.unrealizedPnl),
  });
}

export function toRiskMetrics(figures: RiskFigures): RiskMetrics {
  return Object.assign(new RiskMetrics(), {
    samples: figures.samples,
    maxDrawdown: figures.maxDrawdown ? money(figures.maxDrawdown) : null,
    var95: figures.var95 ? money(figures.var95) : null,
    volatility: figures.volatility ? money(figures.volatility) : null,
  });
}
