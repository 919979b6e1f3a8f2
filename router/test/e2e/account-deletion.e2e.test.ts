import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import {
  AddProductReviewDocument,
  AddToCartDocument,
  CreateWebhookEndpointDocument,
  DeleteAccountDocument,
  MyPortfolioDocument,
  PortfolioMarketBuyDocument,
  PortfolioPaperAccountDocument,
  RegisterDocument,
} from '../../../schema/generated/operations';
import { DEMO_PRODUCTS } from '../../../scripts/demo-data';
import { InstrumentEntity } from '../../../subgraphs/trading/src/market/instrument.entity';
import { paperInstrumentOf } from '../../../subgraphs/trading/src/market/market-runtime';
import { PaperFeed } from '../../../subgraphs/trading/src/market/paper-feed';
import { eventually, startStack, type Stack, type SubgraphName } from './stack';

const SYMBOL = 'BTC/USDT';
const PASSWORD = 'a-long-password-1';

interface Customer {
  id: string;
  token: string;
  webhookToken: string;
}

/** Rows that hold a user's data, per subgraph, counted for one user id. */
const PERSONAL_ROWS: [SubgraphName, string][] = [
  ['users', `select count(*)::int as n from users where id = $1 and email is not null`],
  ['catalog', `select count(*)::int as n from review where author_id = $1`],
  ['orders', `select count(*)::int as n from cart where user_id = $1`],
  ['trading', `select count(*)::int as n from exchange_account where user_id = $1 and unlinked_at is null`],
  ['trading', `select count(*)::int as n from trade_order where user_id = $1 and status in ('NEW', 'OPEN', 'PARTIALLY_FILLED')`],
  ['portfolio', `select count(*)::int as n from portfolio where user_id = $1`],
  ['signals', `select count(*)::int as n from webhook_endpoint where user_id = $1`],
  ['signals', `select count(*)::int as n from signal where user_id = $1`],
  ['analytics', `select count(*)::int as n from trading_stats where user_id = $1`],
];

describe('deleting an account through the router', () => {
  let stack: Stack;
  let feed: PaperFeed;
  let time = Date.now();

  async function count(subgraph: SubgraphName, sql: string, userId: string): Promise<number> {
    const client = new Client({ connectionString: stack.databaseUrls[subgraph] });
    await client.connect();
    try {
      return (await client.query<{ n: number }>(sql, [userId])).rows[0]!.n;
    } finally {
      await client.end();
    }
  }

  const personalRows = (userId: string) => Promise.all(PERSONAL_ROWS.map(([subgraph, sql]) => count(subgraph, sql, userId)));

  const postAlert = (webhookToken: string) =>
    fetch(`${stack.baseUrls.signals}/webhook/u/${webhookToken}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ticker: 'BINANCE:BTCUSDT', action: 'buy', price: '67250', interval: '1', time: new Date().toISOString(), comment: randomUUID() }),
    });

  /** A customer with data in every subgraph that keeps some: a review, a cart, a paper account with a fill and a resting order, a portfolio, a webhook with a signal. */
  async function customer(): Promise<Customer> {
    const registered = await stack.request(RegisterDocument, { input: { email: `${randomUUID()}@example.com`, password: PASSWORD, name: 'Leaving Soon' } });
    expect(registered.errors).toBeUndefined();
    const { accessToken: token, user } = registered.data!.register;
    const good = DEMO_PRODUCTS.find((product) => product.kind === 'GOOD')!;
    expect((await stack.request(AddProductReviewDocument, { productId: DEMO_PRODUCTS[0]!.id, rating: 4, text: 'Useful.' }, token)).errors).toBeUndefined();
    expect((await stack.request(AddToCartDocument, { productId: good.id, quantity: 1 }, token)).errors).toBeUndefined();

    const account = await stack.request(PortfolioPaperAccountDocument, {}, token);
    expect(account.errors).toBeUndefined();
    const accountId = account.data!.linkExchangeAccount.id;
    // The paper exchange fills at the last price the engine saw.
    feed.tick((time += 1_000));
    const place = (type: 'MARKET' | 'LIMIT', price?: string) =>
      stack.request(PortfolioMarketBuyDocument, { input: { accountId, clientOrderId: randomUUID(), symbol: SYMBOL, side: 'BUY', type, quantity: '0.01', price } }, token);
    expect((await place('MARKET')).data!.placeTradeOrder.status).toBe('FILLED');
    // Far below the paper market (tens of thousands): it rests until cancelled.
    expect((await place('LIMIT', '1000')).data!.placeTradeOrder.status).toBe('OPEN');

    const endpoint = await stack.request(CreateWebhookEndpointDocument, { name: 'TradingView' }, token);
    expect(endpoint.errors).toBeUndefined();
    const webhookToken = endpoint.data!.createWebhookEndpoint.url.split('/').pop()!;
    expect((await postAlert(webhookToken)).status).toBe(200);

    await eventually(() => stack.request(MyPortfolioDocument, {}, token), (response) => response.data?.myPortfolio.holdings.length === 1, 'the holding');
    await eventually(() => personalRows(user.id), (rows) => rows.every((n) => n > 0), 'data in every subgraph');
    return { id: user.id, token, webhookToken };
  }

  beforeAll(async () => {
    stack = await startStack();
    const trading = stack.server('trading');
    const rows = await trading.orm.em.fork().find(InstrumentEntity, {}, { orderBy: { symbol: 'asc' } });
    feed = new PaperFeed({ instruments: rows.map(paperInstrumentOf), seed: 11, autoTick: false });
    await trading.startMarket(feed);
  });

  afterAll(async () => {
    await stack?.close();
  });

  it("erases the user's data in every subgraph that held it, and no one else's", async () => {
    const leaving = await customer();
    const staying = await customer();

    const deleted = await stack.request(DeleteAccountDocument, { input: { password: PASSWORD } }, leaving.token);
    expect(deleted).toMatchObject({ data: { deleteAccount: true } });

    await eventually(() => personalRows(leaving.id), (rows) => rows.every((n) => n === 0), "the deleted user's data");
    expect((await personalRows(staying.id)).every((n) => n > 0)).toBe(true);

    // The webhook URL is gone like any unknown one; the other user's still stores signals.
    expect((await postAlert(leaving.webhookToken)).status).toBe(404);
    expect((await postAlert(staying.webhookToken)).status).toBe(200);
    const stayingPortfolio = await stack.request(MyPortfolioDocument, {}, staying.token);
    expect(stayingPortfolio.data!.myPortfolio.holdings).toHaveLength(1);
    // A token issued before the deletion still works until it expires: what it creates now goes with
    // the second UserDeleted, which users sends once every such token has expired.
    expect((await stack.request(AddProductReviewDocument, { productId: DEMO_PRODUCTS[1]!.id, rating: 1, text: 'Still here.' }, leaving.token)).errors).toBeUndefined();
    expect((await stack.request(CreateWebhookEndpointDocument, { name: 'Again' }, leaving.token)).errors).toBeUndefined();
    expect(await count('catalog', PERSONAL_ROWS[1]![1], leaving.id)).toBe(1);
    const tokensExpired = new Date(Date.now() + 20 * 60_000);
    expect(await stack.server('users').repeatErasures(tokensExpired)).toBe(1);
    await eventually(() => personalRows(leaving.id), (rows) => rows.every((n) => n === 0), 'what the old token created');
    expect((await personalRows(staying.id)).every((n) => n > 0)).toBe(true);

    // Trade history stays as an accounting record, every order of the deleted user ended.
    expect(await count('trading', `select count(*)::int as n from trade_order where user_id = $1 and status = 'FILLED'`, leaving.id)).toBe(1);
    expect(await count('trading', `select count(*)::int as n from trade_order where user_id = $1 and status = 'CANCELLED'`, leaving.id)).toBe(1);
    expect(await count('trading', `select count(*)::int as n from exchange_account where user_id = $1 and credentials is not null`, leaving.id)).toBe(0);
  });
});
