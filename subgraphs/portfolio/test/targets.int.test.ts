import { errorCode, startPortfolio, type PortfolioHarness } from './harness';

const SET_TARGETS = `mutation($targets: [TargetAllocationInput!]!) { setTargetAllocations(targets: $targets) { targets { asset weight } } }`;
const PLAN = `query($minNotional: String!) { myPortfolio { totalValue targets { asset weight }
  rebalancePlan(minNotional: $minNotional) { totalValue orders { asset symbol side quantity price notional currentWeight targetWeight } skipped { asset symbol reason notional } }
} }`;

describe('target allocations and rebalancePlan', () => {
  let h: PortfolioHarness;
  const time = Date.parse('2024-06-01T00:00:00.000Z');

  beforeAll(async () => {
    h = await startPortfolio();
    // 1 BTC at 30000 and 10 ETH at 2000: 50000 in all; SOL is priced at 100 but not held.
    await h.deliver(h.fill({ symbol: 'BTC/USDT', quantity: '1', price: '30000', executedAt: new Date(time).toISOString() }));
    await h.deliver(h.fill({ symbol: 'ETH/USDT', quantity: '10', price: '2000', executedAt: new Date(time).toISOString() }));
    await h.tick('SOL/USDT', '100', new Date(time));
  });

  afterAll(async () => {
    await h?.close();
  });

  it('stores weights given in percent as fractions and plans the orders that reach them', async () => {
    const set = await h.request(SET_TARGETS, { targets: [{ asset: 'BTC', weight: '50' }, { asset: 'ETH', weight: '30' }, { asset: 'SOL', weight: '20' }] }, h.customer);
    expect(set.errors).toBeUndefined();
    expect(set.data!.setTargetAllocations.targets).toEqual([
      { asset: 'BTC', weight: '0.5' },
      { asset: 'ETH', weight: '0.3' },
      { asset: 'SOL', weight: '0.2' },
    ]);

    const plan = await h.request(PLAN, { minNotional: '5000' }, h.customer);
    expect(plan.errors).toBeUndefined();
    expect(plan.data!.myPortfolio.rebalancePlan).toEqual({
      totalValue: '50000',
      orders: [
        { asset: 'ETH', symbol: 'ETH/USDT', side: 'SELL', quantity: '2.5', price: '2000', notional: '5000', currentWeight: '0.4', targetWeight: '0.3' },
        { asset: 'SOL', symbol: 'SOL/USDT', side: 'BUY', quantity: '100', price: '100', notional: '10000', currentWeight: '0', targetWeight: '0.2' },
      ],
      // 25000 − 30000 of BTC: 0.16666666 × 30000 = 4999.9998, under the minimum.
      skipped: [{ asset: 'BTC', symbol: 'BTC/USDT', reason: 'BELOW_MIN_NOTIONAL', notional: '4999.9998' }],
    });
  });

  it('refuses bad targets and changes nothing', async () => {
    const cases: [unknown, RegExp][] = [
      [[{ asset: 'BTC', weight: '0.6' }, { asset: 'ETH', weight: '0.3' }], /weights must sum to 1 \(or 100 for percentages\), got 0.9/],
      [[{ asset: 'BTC', weight: '0.5' }, { asset: 'BTC', weight: '0.5' }], /asset BTC appears twice/],
      [[{ asset: 'btc', weight: '1' }], /asset must be an asset code/],
      [[{ asset: 'BTC', weight: '-1' }, { asset: 'ETH', weight: '2' }], /weight must be a non-negative decimal string/],
    ];
    for (const [targets, message] of cases) {
      const refused = await h.request(SET_TARGETS, { targets }, h.customer);
      expect(errorCode(refused)).toBe('BAD_USER_INPUT');
      expect(refused.errors![0]!.message).toMatch(message);
    }
    expect(errorCode(await h.request(SET_TARGETS, { targets: [{ asset: 'BTC', weight: '1' }] }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await h.request(PLAN, { minNotional: 'ten' }, h.customer))).toBe('BAD_USER_INPUT');
    const unchanged = await h.request(PLAN, { minNotional: '0' }, h.customer);
    expect(unchanged.data!.myPortfolio.targets.map((target: { asset: string }) => target.asset)).toEqual(['BTC', 'ETH', 'SOL']);
  });

  it("keeps each user's targets their own, and an empty list removes them", async () => {
    const theirs = await h.request(SET_TARGETS, { targets: [{ asset: 'USDT', weight: '1' }] }, h.other);
    expect(theirs.data!.setTargetAllocations.targets).toEqual([{ asset: 'USDT', weight: '1' }]);
    expect((await h.request(PLAN, { minNotional: '0' }, h.customer)).data!.myPortfolio.targets).toHaveLength(3);

    const cleared = await h.request(SET_TARGETS, { targets: [] }, h.customer);
    expect(cleared.data!.setTargetAllocations.targets).toEqual([]);
    const plan = await h.request(PLAN, { minNotional: '0' }, h.customer);
    expect(plan.data!.myPortfolio.rebalancePlan).toEqual({ totalValue: '50000', orders: [], skipped: [] });
  });
});
