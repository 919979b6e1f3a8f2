import { randomUUID } from 'node:crypto';
import { portfolioIdOf } from '../src/shared/ids';
import { CUSTOMER_ID, errorCode, HOLDING_FIELDS, MY_PORTFOLIO, OTHER_ID, startPortfolio, type FillData, type PortfolioHarness } from './harness';

const T0 = Date.parse('2024-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

const USER_PORTFOLIO = `query($id: ID!) { _entities(representations: [{ __typename: "User", id: $id }]) { ... on User { id portfolio { id userId totalValue } } } }`;
const PORTFOLIO_REFERENCE = `query($id: ID!) { _entities(representations: [{ __typename: "Portfolio", id: $id }]) { ... on Portfolio { id userId } } }`;
const POSITIONS = `{ _entities(representations: [
  { __typename: "Instrument", symbol: "BTC/USDT" }, { __typename: "Instrument", symbol: "ETH/USDT" }, { __typename: "Instrument", symbol: "SOL/USDT" }
]) { ... on Instrument { symbol position { ${HOLDING_FIELDS} } } } }`;

describe('portfolio from fills (FillExecuted on events-portfolio)', () => {
  let h: PortfolioHarness;

  beforeAll(async () => {
    h = await startPortfolio();
  });

  afterAll(async () => {
    await h?.close();
  });

  const holding = async (asset: string, token = h.customer) => {
    const response = await h.request(`{ myPortfolio { holdings(includeClosed: true) { ${HOLDING_FIELDS} } } }`, {}, token);
    expect(response.errors).toBeUndefined();
    return response.data!.myPortfolio.holdings.find((one: { asset: string }) => one.asset === asset) ?? null;
  };

  it('builds holdings and PnL from the queue, fees included, and values them at live prices', async () => {
    const fills = [
      h.fill({ side: 'BUY', quantity: '1', price: '100', fee: '0.1', executedAt: at(1) }),
      h.fill({ side: 'BUY', quantity: '1', price: '200', fee: '0.2', executedAt: at(2) }),
      h.fill({ side: 'SELL', quantity: '0.5', price: '300', fee: '0.15', executedAt: at(3) }),
    ];
    // The consumer takes them concurrently and in any order; the ledger puts them in execution order.
    expect(await h.enqueue(fills)).toEqual(fills.map(() => ({ outcome: 'completed', result: 'processed' })));

    const afterFills = await h.request(MY_PORTFOLIO, {}, h.customer);
    expect(afterFills.errors).toBeUndefined();
    // Average (100.1 + 200.2) / 2 = 150.15; the sell realizes (300 − 150.15) × 0.5 − 0.15 = 74.775.
    // The last fill's price (300) values the rest until a tick: 1.5 × 300 − 225.225 = 224.775.
    expect(afterFills.data!.myPortfolio).toEqual({
      id: portfolioIdOf(CUSTOMER_ID),
      userId: CUSTOMER_ID,
      currency: 'USDT',
      totalValue: '450',
      costBasis: '225.225',
      netInvested: '150.45',
      realizedPnl: '74.775',
      unrealizedPnl: '224.775',
      totalPnl: '299.55',
      fees: '0.45',
      unpricedAssets: [],
      holdings: [
        {
          asset: 'BTC',
          symbol: 'BTC/USDT',
          quantity: '1.5',
          averageCost: '150.15',
          costBasis: '225.225',
          marketPrice: '300',
          marketValue: '450',
          unrealizedPnl: '224.775',
          realizedPnl: '74.775',
          fees: '0.45',
          weight: '1',
        },
      ],
    });

    await h.tick('BTC/USDT', '160');
    const afterTick = (await h.request(MY_PORTFOLIO, {}, h.customer)).data!.myPortfolio;
    // 1.5 × 160 − 225.225 = 14.775; total value − net invested = realized + unrealized: 240 − 150.45 = 74.775 + 14.775.
    expect(afterTick).toMatchObject({ totalValue: '240', unrealizedPnl: '14.775', realizedPnl: '74.775', totalPnl: '89.55' });
    expect(afterTick.holdings[0]).toMatchObject({ marketPrice: '160', marketValue: '240', unrealizedPnl: '14.775' });
  });

  it('gives a redelivered fill no second effect, under the same or another event id', async () => {
    const envelope = h.fill({ side: 'BUY', quantity: '2', price: '50', fee: '0.05', symbol: 'ETH/USDT', executedAt: at(10) });
    expect(await h.enqueue([envelope])).toEqual([{ outcome: 'completed', result: 'processed' }]);
    const once = await holding('ETH');
    expect(once).toMatchObject({ quantity: '2', costBasis: '100.05' });

    // The same event again (a relay republishing after its job was removed): the inbox drops it.
    expect(await h.enqueue([envelope], { jobId: randomUUID() })).toEqual([{ outcome: 'completed', result: 'duplicate' }]);
    // The same fill under a new event id: the ledger drops it.
    expect(await h.enqueue([{ ...envelope, id: randomUUID() }])).toEqual([{ outcome: 'completed', result: 'processed' }]);
    expect(await holding('ETH')).toEqual(once);
    const [ledger] = await h.sql<{ n: number }>('select count(*)::int as n from "fill" where "fill_id" = ?', [envelope.data.fillId]);
    expect(ledger!.n).toBe(1);
  });

  it('replays an asset in execution order when a fill arrives late', async () => {
    // Executed: buy 1 @ 100, buy 1 @ 200, sell 1 @ 150 → average 150, nothing realized. The 200 buy arrives last.
    await h.deliver(h.fill({ symbol: 'SOL/USDT', side: 'BUY', quantity: '1', price: '100', executedAt: at(20) }));
    await h.deliver(h.fill({ symbol: 'SOL/USDT', side: 'SELL', quantity: '1', price: '150', executedAt: at(22) }));
    expect(await holding('SOL')).toMatchObject({ quantity: '0', realizedPnl: '50' });
    await h.deliver(h.fill({ symbol: 'SOL/USDT', side: 'BUY', quantity: '1', price: '200', executedAt: at(21) }));
    expect(await holding('SOL')).toMatchObject({ quantity: '1', averageCost: '150', costBasis: '150', realizedPnl: '0' });
  });

  it('applies fills taken together as one by one: in execution order, a late one by replay, the same fill once, each user apart', async () => {
    // Users of their own, so the other tests' figures stay as they are.
    const [trader, someoneElse] = [randomUUID(), randomUUID()];
    const fill = (overrides: Partial<FillData>) => h.fill({ userId: trader, ...overrides });
    await h.deliver(fill({ symbol: 'DOT/USDT', side: 'BUY', quantity: '1', price: '10', executedAt: at(30) }));
    await h.deliver(fill({ symbol: 'AVAX/USDT', side: 'BUY', quantity: '1', price: '10', executedAt: at(30) }));
    const dotBuy = fill({ symbol: 'DOT/USDT', side: 'BUY', quantity: '1', price: '13', executedAt: at(31) });
    const together = [
      // Newer than the holding, but taken out of order: buy 1 @ 13 comes before this sell in execution.
      fill({ symbol: 'DOT/USDT', side: 'SELL', quantity: '1', price: '16', executedAt: at(32) }),
      dotBuy,
      { ...dotBuy, id: randomUUID() },
      // Older than the holding's last fill: AVAX is replayed from its ledger.
      fill({ symbol: 'AVAX/USDT', side: 'SELL', quantity: '1', price: '18', executedAt: at(31) }),
      fill({ symbol: 'AVAX/USDT', side: 'BUY', quantity: '1', price: '20', executedAt: at(29) }),
      h.fill({ userId: someoneElse, symbol: 'DOT/USDT', side: 'BUY', quantity: '3', price: '10', executedAt: at(31) }),
    ];
    expect(await h.enqueue(together)).toEqual(together.map(() => ({ outcome: 'completed', result: 'processed' })));

    const token = await h.issuer.sign(trader, 'CUSTOMER');
    // 10 and 13 bought (average 11.5), one sold at 16.
    expect(await holding('DOT', token)).toMatchObject({ quantity: '1', averageCost: '11.5', costBasis: '11.5', realizedPnl: '4.5' });
    // 20 (late) and 10 bought (average 15), one sold at 18.
    expect(await holding('AVAX', token)).toMatchObject({ quantity: '1', averageCost: '15', costBasis: '15', realizedPnl: '3' });
    expect(await holding('DOT', await h.issuer.sign(someoneElse, 'CUSTOMER'))).toMatchObject({ quantity: '3', averageCost: '10', realizedPnl: '0' });
    const [ledger] = await h.sql<{ n: number }>('select count(*)::int as n from "fill" where "fill_id" = ?', [dotBuy.data.fillId]);
    expect(ledger!.n).toBe(1);
  });

  it('takes a base-currency fee off the quantity and values a third-currency fee at its price', async () => {
    const user = randomUUID();
    const token = await h.issuer.sign(user);
    await h.deliver(h.fill({ userId: user, symbol: 'ADA/USDT', quantity: '1.001', price: '1000', fee: '0.001', feeCurrency: 'ADA', executedAt: at(30) }));
    await h.deliver(h.fill({ userId: user, symbol: 'ADA/USDT', side: 'SELL', quantity: '0.5', price: '1100', fee: '0.0005', feeCurrency: 'ADA', executedAt: at(31) }));
    // 1 received at 1001; the sell moves 0.5005 out: (1100 − 1001) × 0.5005 − 0.55 = 48.9995.
    expect(await holding('ADA', token)).toMatchObject({ quantity: '0.4995', averageCost: '1001', costBasis: '499.9995', realizedPnl: '48.9995', fees: '1.55' });

    await h.tick('BNB/USDT', '500');
    await h.deliver(h.fill({ userId: user, symbol: 'XRP/USDT', quantity: '100', price: '0.5', fee: '0.01', feeCurrency: 'BNB', executedAt: at(32) }));
    expect(await holding('XRP', token)).toMatchObject({ quantity: '100', costBasis: '55', averageCost: '0.55', fees: '5' });
  });

  it('fails a fill it cannot apply and writes nothing of it', async () => {
    const notStable = h.fill({ symbol: 'ETH/BTC', executedAt: at(40) });
    const unpricedFee = h.fill({ symbol: 'BTC/USDT', fee: '1', feeCurrency: 'ZZZ', executedAt: at(41) });
    const malformed = h.fill({ quantity: '-1', executedAt: at(42) });
    const results = await h.enqueue([notStable, unpricedFee, malformed]);
    expect(results.map((result) => result.outcome)).toEqual(['failed', 'failed', 'failed']);
    expect(results[0]!.result).toMatch(/quote currency BTC is not one of USDT/);
    expect(results[1]!.result).toMatch(/no price of ZZZ/);
    expect(results[2]!.result).toMatch(/data.quantity must be a positive decimal string/);
    const ids = [notStable, unpricedFee, malformed].map((envelope) => envelope.data.fillId);
    expect(await h.sql('select 1 from "fill" where "fill_id" in (?, ?, ?)', ids)).toEqual([]);
    expect(await h.sql('select 1 from "inbox" where "event_id" in (?, ?, ?)', [notStable.id, unpricedFee.id, malformed.id])).toEqual([]);
    expect(await holding('BTC')).toMatchObject({ quantity: '1.5' });
  });

  it('shows a portfolio only to its owner and ADMINs', async () => {
    const owner = await h.request(USER_PORTFOLIO, { id: CUSTOMER_ID }, h.customer);
    // BTC 1.5 × 160, ETH 2 × 50, SOL 1 × 150 (its last fill's price).
    expect(owner.data!._entities[0].portfolio).toMatchObject({ id: portfolioIdOf(CUSTOMER_ID), userId: CUSTOMER_ID, totalValue: '490' });
    expect((await h.request(USER_PORTFOLIO, { id: CUSTOMER_ID }, h.admin)).data!._entities[0].portfolio).toMatchObject({ userId: CUSTOMER_ID });

    const intruder = await h.request(USER_PORTFOLIO, { id: CUSTOMER_ID }, h.other);
    expect(errorCode(intruder)).toBe('FORBIDDEN');
    expect(intruder.data!._entities[0].portfolio).toBeNull();
    expect(errorCode(await h.request(USER_PORTFOLIO, { id: CUSTOMER_ID }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await h.request(MY_PORTFOLIO))).toBe('UNAUTHENTICATED');

    // By Portfolio id: the owner's, an ADMIN's, nobody else's.
    const id = portfolioIdOf(CUSTOMER_ID);
    expect((await h.request(PORTFOLIO_REFERENCE, { id }, h.customer)).data!._entities).toEqual([{ id, userId: CUSTOMER_ID }]);
    expect((await h.request(PORTFOLIO_REFERENCE, { id }, h.admin)).data!._entities).toEqual([{ id, userId: CUSTOMER_ID }]);
    expect((await h.request(PORTFOLIO_REFERENCE, { id }, h.other)).data!._entities).toEqual([null]);

    // The other user's own portfolio is empty.
    const theirs = await h.request(MY_PORTFOLIO, {}, h.other);
    expect(theirs.data!.myPortfolio).toMatchObject({ id: portfolioIdOf(OTHER_ID), userId: OTHER_ID, totalValue: '0', realizedPnl: '0', holdings: [] });
  });

  it("resolves Instrument.position to the signed-in user's holding of the base asset", async () => {
    const mine = await h.request(POSITIONS, {}, h.customer);
    expect(mine.errors).toBeUndefined();
    expect(mine.data!._entities.map((entity: { symbol: string; position: { quantity: string } | null }) => [entity.symbol, entity.position?.quantity ?? null])).toEqual([
      ['BTC/USDT', '1.5'],
      ['ETH/USDT', '2'],
      ['SOL/USDT', '1'],
    ]);
    expect(mine.data!._entities[0].position).toMatchObject({ averageCost: '150.15', marketPrice: '160', unrealizedPnl: '14.775' });
    const theirs = await h.request(POSITIONS, {}, h.other);
    expect(theirs.data!._entities.map((entity: { position: unknown }) => entity.position)).toEqual([null, null, null]);
    const anonymous = await h.request(POSITIONS);
    expect(anonymous.errors).toBeUndefined();
    expect(anonymous.data!._entities.map((entity: { position: unknown }) => entity.position)).toEqual([null, null, null]);
  });
});
