import { riskMetrics, type ValuePoint } from '../src/snapshot/risk-metrics';
import { money } from '../src/shared/decimal';

const points = (...values: [string, string?][]): ValuePoint[] => values.map(([totalValue, netInvested = '0']) => ({ totalValue, netInvested }));
const shown = (figures: ReturnType<typeof riskMetrics>) => ({
  samples: figures.samples,
  maxDrawdown: figures.maxDrawdown && money(figures.maxDrawdown),
  var95: figures.var95 && money(figures.var95),
  volatility: figures.volatility && money(figures.volatility),
  returns: figures.returns.map((r) => money(r)),
});

describe('riskMetrics', () => {
  it('computes drawdown, VaR and volatility of +10 %, −10 %, +10 % by hand', () => {
    // Index 1.1, 0.99, 1.089: drawdown (1.1 − 0.99) / 1.1 = 0.1. VaR: the ⌈0.15⌉ = 1st smallest return, −0.1.
    // Volatility: mean 1/30; squared deviations 0.0044…, 0.0177…, 0.0044… sum to 0.02666…; / 2 → sqrt(0.01333…) = 0.11547005.
    expect(shown(riskMetrics(points(['100'], ['110'], ['99'], ['108.9'])))).toEqual({
      samples: 3,
      maxDrawdown: '0.1',
      var95: '0.1',
      volatility: '0.11547005',
      returns: ['0.1', '-0.1', '0.1'],
    });
  });

  it('takes returns net of money moved in: buying 150 more is not a gain', () => {
    expect(shown(riskMetrics(points(['100', '100'], ['250', '250'], ['225', '250'])))).toEqual({
      samples: 2,
      maxDrawdown: '0.1',
      var95: '0.1',
      volatility: '0.07071068',
      returns: ['0', '-0.1'],
    });
  });

  it('skips periods that start from nothing', () => {
    expect(shown(riskMetrics(points(['0'], ['100', '100'], ['90', '100'])))).toEqual({ samples: 1, maxDrawdown: '0.1', var95: '0.1', volatility: null, returns: ['-0.1'] });
  });

  it('takes the ⌈0.05 n⌉-th smallest return as the 5 % quantile; VaR is 0 when it is a gain', () => {
    // 40 returns: −3 %, −2 %, then 38 of +1 %. ⌈2⌉ = 2nd smallest: −2 %.
    const values: [string, string?][] = [['100']];
    let value = 100;
    for (const r of [-0.03, -0.02, ...Array<number>(38).fill(0.01)]) values.push([String((value = Math.round(value * (1 + r) * 1e6) / 1e6))]);
    expect(money(riskMetrics(points(...values)).var95!)).toBe('0.02');
    expect(money(riskMetrics(points(['100'], ['101'], ['102.01'])).var95!)).toBe('0');
  });

  it('has no figures without returns', () => {
    expect(shown(riskMetrics(points(['100'])))).toEqual({ samples: 0, maxDrawdown: null, var95: null, volatility: null, returns: [] });
    expect(riskMetrics([]).samples).toBe(0);
  });
});
