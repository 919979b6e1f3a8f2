import { applyFill, averageCost, EMPTY_POSITION, replayFills, type FillInput, type Position } from '../src/holding/cost-basis';
import { valuePortfolio } from '../src/portfolio/valuation';
import { Dec, stored } from '../src/shared/decimal';

let sequence = 0;
/** A fill; the fee is in the quote currency unless `feeInBase`, and its value defaults to the fee (quote) or fee × price (base). */
function fill(side: 'BUY' | 'SELL', quantity: string, price: string, fee = '0', options: { feeInBase?: boolean; feeValue?: string } = {}): FillInput {
  sequence += 1;
  const feeInBase = options.feeInBase ?? false;
  return {
    fillId: `fill-${String(sequence).padStart(4, '0')}`,
    side,
    quantity,
    price,
    fee,
    feeInBase,
    feeValue: options.feeValue ?? (feeInBase ? new Dec(fee).times(price).toFixed() : fee),
    executedAt: new Date(Date.UTC(2024, 0, 1, 0, 0, sequence)),
  };
}

/** The position as strings, as it is stored. */
const shown = (position: Position) => ({
  quantity: stored(position.quantity),
  costBasis: stored(position.costBasis),
  averageCost: averageCost(position) ? stored(averageCost(position)!) : null,
  realizedPnl: stored(position.realizedPnl),
  fees: stored(position.fees),
  netInvested: stored(position.netInvested),
  fillCount: position.fillCount,
});

describe('weighted average cost, fees in the quote currency', () => {
  // Hand-computed, step by step.
  const fills = [
    fill('BUY', '1', '100', '0.1'),
    fill('BUY', '1', '200', '0.2'),
    fill('SELL', '0.5', '300', '0.15'),
    fill('SELL', '1.5', '50', '0.075'),
    fill('BUY', '2', '10', '0.02'),
  ];
  const steps: Position[] = [];
  beforeAll(() => {
    let position = EMPTY_POSITION;
    for (const one of fills) steps.push((position = applyFill(position, one)));
  });

  it('adds buy fees to the cost: 1 @ 100 + 0.1 fee costs 100.1', () => {
    expect(shown(steps[0]!)).toEqual({ quantity: '1', costBasis: '100.1', averageCost: '100.1', realizedPnl: '0', fees: '0.1', netInvested: '100.1', fillCount: 1 });
  });

  it('averages the cost over buys: (100.1 + 200.2) / 2 = 150.15', () => {
    expect(shown(steps[1]!)).toEqual({ quantity: '2', costBasis: '300.3', averageCost: '150.15', realizedPnl: '0', fees: '0.3', netInvested: '300.3', fillCount: 2 });
  });

  it('realizes (300 − 150.15) × 0.5 − 0.15 = 74.775 on a partial sell; the average cost stays', () => {
    expect(shown(steps[2]!)).toEqual({ quantity: '1.5', costBasis: '225.225', averageCost: '150.15', realizedPnl: '74.775', fees: '0.45', netInvested: '150.45', fillCount: 3 });
  });

  it('selling to zero removes the whole cost: (50 − 150.15) × 1.5 − 0.075 = −150.3, −75.525 in all', () => {
    expect(shown(steps[3]!)).toEqual({ quantity: '0', costBasis: '0', averageCost: null, realizedPnl: '-75.525', fees: '0.525', netInvested: '75.525', fillCount: 4 });
  });

  it('a buy after going flat starts a new average and keeps the realized PnL', () => {
    expect(shown(steps[4]!)).toEqual({ quantity: '2', costBasis: '20.02', averageCost: '10.01', realizedPnl: '-75.525', fees: '0.545', netInvested: '95.545', fillCount: 5 });
  });

  it('replays to the same position whatever order the fills arrive in', () => {
    expect(shown(replayFills([fills[3]!, fills[0]!, fills[4]!, fills[2]!, fills[1]!]))).toEqual(shown(steps[4]!));
  });
});

describe('weighted average cost, fees in the base currency', () => {
  it('a base fee reduces the quantity received: 1.001 @ 1000 less 0.001 gives 1 at 1001', () => {
    const bought = applyFill(EMPTY_POSITION, fill('BUY', '1.001', '1000', '0.001', { feeInBase: true }));
    expect(shown(bought)).toEqual({ quantity: '1', costBasis: '1001', averageCost: '1001', realizedPnl: '0', fees: '1', netInvested: '1001', fillCount: 1 });
  });

  it('a base fee on a sell leaves the account too: (1100 − 1001) × 0.5005 − 0.55 = 48.9995', () => {
    const bought = applyFill(EMPTY_POSITION, fill('BUY', '1.001', '1000', '0.001', { feeInBase: true }));
    const sold = applyFill(bought, fill('SELL', '0.5', '1100', '0.0005', { feeInBase: true }));
    expect(shown(sold)).toEqual({ quantity: '0.4995', costBasis: '499.9995', averageCost: '1001', realizedPnl: '48.9995', fees: '1.55', netInvested: '451', fillCount: 2 });
  });

  it('a fee in a third currency counts at its quote value: 0.01 BNB worth 5 adds 5 to the cost', () => {
    const bought = applyFill(EMPTY_POSITION, fill('BUY', '1', '100', '0.01', { feeValue: '5' }));
    expect(shown(bought)).toMatchObject({ quantity: '1', costBasis: '105', fees: '5' });
  });
});

describe('edge cases', () => {
  it('keeps 18 decimals of a repeating average and realizes the exact total when sold out', () => {
    const bought = applyFill(EMPTY_POSITION, fill('BUY', '3', '10', '1'));
    const partly = applyFill(bought, fill('SELL', '1', '12'));
    expect(shown(partly)).toMatchObject({ quantity: '2', costBasis: '20.666666666666666667', realizedPnl: '1.666666666666666667' });
    // 36 received − 31 paid.
    expect(shown(applyFill(partly, fill('SELL', '2', '12')))).toMatchObject({ quantity: '0', costBasis: '0', realizedPnl: '5' });
  });

  it('takes base sold beyond the known quantity as bought at the sell price (no PnL on it)', () => {
    const bought = applyFill(EMPTY_POSITION, fill('BUY', '1', '100'));
    expect(shown(applyFill(bought, fill('SELL', '1.5', '120')))).toMatchObject({ quantity: '0', costBasis: '0', realizedPnl: '20', netInvested: '-20' });
  });
});

describe('valuePortfolio', () => {
  const at = new Date('2024-01-01T00:00:00Z');
  const holding = (asset: string, position: Position) => ({
    asset,
    symbol: `${asset}/USDT`,
    quantity: stored(position.quantity),
    costBasis: stored(position.costBasis),
    realizedPnl: stored(position.realizedPnl),
    fees: stored(position.fees),
    netInvested: stored(position.netInvested),
    updatedAt: at,
  });

  it('values holdings at the latest prices; market value − net invested = realized + unrealized PnL', () => {
    const btc = replayFills([fill('BUY', '2', '100', '1'), fill('SELL', '1', '150', '0.5')]);
    const eth = replayFills([fill('BUY', '4', '25', '0')]);
    const prices = new Map([
      ['BTC/USDT', { symbol: 'BTC/USDT', price: '120', at: new Date('2024-01-02T00:00:00Z') }],
      ['ETH/USDT', { symbol: 'ETH/USDT', price: '20', at: at }],
    ]);
    const value = valuePortfolio([holding('ETH', eth), holding('BTC', btc)], prices);
    // BTC: 1 left at cost 100.5, worth 120; realized 150 − 0.5 − 100.5 = 49. ETH: 4 at 25, worth 80.
    expect(value.holdings.map((one) => [one.asset, one.marketValue!.toFixed(), one.unrealizedPnl!.toFixed(), one.weight.toFixed()])).toEqual([
      ['BTC', '120', '19.5', '0.6'],
      ['ETH', '80', '-20', '0.4'],
    ]);
    expect(value.totalValue.toFixed()).toBe('200');
    expect(value.realizedPnl.toFixed()).toBe('49');
    expect(value.unrealizedPnl.toFixed()).toBe('-0.5');
    expect(value.fees.toFixed()).toBe('1.5');
    expect(value.totalValue.minus(value.netInvested).toFixed()).toBe(value.realizedPnl.plus(value.unrealizedPnl).toFixed());
    expect(value.updatedAt).toEqual(new Date('2024-01-02T00:00:00Z'));
  });

  it('counts a holding without a price at its cost and names it', () => {
    const value = valuePortfolio([holding('SOL', replayFills([fill('BUY', '3', '10', '0')]))], new Map());
    expect(value.totalValue.toFixed()).toBe('30');
    expect(value.unrealizedPnl.toFixed()).toBe('0');
    expect(value.unpricedAssets).toEqual(['SOL']);
    expect(value.holdings[0]!.marketValue).toBeNull();
  });
});
