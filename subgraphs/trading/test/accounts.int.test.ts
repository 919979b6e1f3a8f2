import { randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import { AccountService } from '../src/accounts/account.service';
import { openCredentials, parseKeyring } from '../../kit/src/secrets';
import { readTradingConfig } from '../src/config';
import { ExchangeAdapters } from '../src/exchange/adapter-pool';
import { seedPaperAccounts } from '../src/seeds/accounts.seed';
import { DEMO_PAPER_ACCOUNTS } from '../../../scripts/demo-data';
import { createCcxtAdapter } from '../src/exchange/ccxt.adapter';
import { FakeBinance } from './support/fake-binance';
import { errorCode } from './support/harness';
import { ACCOUNT_FIELDS, BALANCES, CANCEL, cid, LINK, ORDER, startOrdersHarness, type OrdersHarness } from './support/orders-harness';

const ACCOUNTS = `{ exchangeAccounts { ${ACCOUNT_FIELDS} balances { asset free locked total } } }`;
const UNLINK = `mutation($id: ID!) { unlinkExchangeAccount(id: $id) { id } }`;
const credential = (): string => randomBytes(48).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 64).padEnd(64, 'x');
const KEY = `old:${randomBytes(32).toString('base64')}`;

describe('exchange accounts', () => {
  let h: OrdersHarness;
  let fake: FakeBinance;
  const apiKey = credential();
  const secret = credential();

  beforeAll(async () => {
    fake = await FakeBinance.start();
    fake.addAccount(apiKey, secret, { BTC: '0.5', USDT: '10000' });
    h = await startOrdersHarness('accounts', {
      env: { CREDENTIALS_KEYS: KEY },
      adapterFactory: (options) => createCcxtAdapter({ ...options, apiUrls: fake.apiUrls, exchangeOptions: { enableRateLimit: false } }),
    });
  });

  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  describe('paper', () => {
    it('seeds the demo trader a paper account with its starting balances, once', async () => {
      const [demo] = DEMO_PAPER_ACCOUNTS;
      await expect(seedPaperAccounts(h.server.orm.em.fork(), DEMO_PAPER_ACCOUNTS)).resolves.toEqual({ created: 1 });
      await expect(seedPaperAccounts(h.server.orm.em.fork(), DEMO_PAPER_ACCOUNTS)).resolves.toEqual({ created: 0 });
      const accounts = (await h.request(ACCOUNTS, {}, await h.token(demo!.userId, 'TRADER'))).data!.exchangeAccounts as Record<string, any>[];
      expect(accounts).toHaveLength(1);
      expect(accounts[0]).toMatchObject({ kind: 'PAPER', exchangeId: 'paper', label: demo!.label, feeRate: '0.001', slippageBps: '5' });
      expect(Object.fromEntries(accounts[0]!.balances.map((balance: { asset: string; free: string }) => [balance.asset, balance.free]))).toEqual(demo!.startingBalances);
      // Nobody else sees it.
      expect((await h.request(ACCOUNTS, {}, await h.token(randomUUID(), 'TRADER'))).data!.exchangeAccounts).toEqual([]);
    });

    it('links a paper account with the server defaults: 10000 USDT, 0.1 % fee, 5 bps slippage', async () => {
      const token = await h.token(randomUUID());
      const linked = await h.request(LINK, { input: {} }, token);
      expect(linked.errors).toBeUndefined();
      expect(linked.data!.linkExchangeAccount).toMatchObject({ kind: 'PAPER', exchangeId: 'paper', label: 'Paper', apiKeyHint: null, feeRate: '0.001', slippageBps: '5' });
      const accounts = await h.request(ACCOUNTS, {}, token);
      expect(accounts.data!.exchangeAccounts).toEqual([
        expect.objectContaining({ id: linked.data!.linkExchangeAccount.id, balances: [{ asset: 'USDT', free: '10000', locked: '0', total: '10000' }] }),
      ]);
    });

    it('takes its own label, starting balances, fee and slippage', async () => {
      const token = await h.token(randomUUID());
      const first = await h.linkPaper(token, { label: 'Scalping', feeRate: '0.00075', slippageBps: '2.5', startingBalances: [{ asset: 'BTC', amount: '1.5' }, { asset: 'USDT', amount: '250.50' }] });
      const second = await h.linkPaper(token, { label: 'Second' });
      const accounts = (await h.request(ACCOUNTS, {}, token)).data!.exchangeAccounts as Record<string, any>[];
      expect(accounts.map((account) => [account.id, account.label])).toEqual([
        [first, 'Scalping'],
        [second, 'Second'],
      ]);
      expect(accounts[0]).toMatchObject({ feeRate: '0.00075', slippageBps: '2.5' });
      expect(await h.balances(token, first)).toEqual({ BTC: { free: '1.5', locked: '0' }, USDT: { free: '250.5', locked: '0' } });
    });

    it('refuses bad terms and balances with BAD_USER_INPUT, and anonymous callers', async () => {
      const token = await h.token(randomUUID());
      for (const input of [
        { feeRate: '1' },
        { slippageBps: '10000' },
        { feeRate: '-0.1' },
        { startingBalances: [{ asset: 'usdt', amount: '1' }] },
        { startingBalances: [{ asset: 'USDT', amount: '1' }, { asset: 'USDT', amount: '2' }] },
        { startingBalances: [{ asset: 'USDT', amount: '1e5' }] },
      ]) {
        expect([JSON.stringify(input), errorCode(await h.request(LINK, { input }, token))]).toEqual([JSON.stringify(input), 'BAD_USER_INPUT']);
      }
      expect((await h.request(ACCOUNTS, {}, token)).data!.exchangeAccounts).toEqual([]);
      expect(errorCode(await h.request(LINK, { input: {} }))).toBe('UNAUTHENTICATED');
      expect(errorCode(await h.request(ACCOUNTS, {}))).toBe('UNAUTHENTICATED');
    });

    it('unlinks an account once it has no live orders; its orders stay readable', async () => {
      const token = await h.token(randomUUID());
      const accountId = await h.linkPaper(token);
      await h.prices('BTC/USDT', '100');
      const order = await h.place(token, { accountId, clientOrderId: cid(), symbol: 'BTC/USDT', side: 'BUY', type: 'LIMIT', quantity: '1', price: '90' });
      expect(errorCode(await h.request(UNLINK, { id: accountId }, token))).toBe('CONFLICT');
      await h.request(CANCEL, { id: order.id }, token);
      const unlinked = await h.request(UNLINK, { id: accountId }, token);
      expect(unlinked.errors).toBeUndefined();
      expect((await h.request(ACCOUNTS, {}, token)).data!.exchangeAccounts).toEqual([]);
      expect(errorCode(await h.request(BALANCES, { accountId }, token))).toBe('NOT_FOUND');
      expect((await h.request(ORDER, { id: order.id }, token)).data!.tradeOrder).toMatchObject({ id: order.id, status: 'CANCELLED' });
    });
  });

  describe('ccxt', () => {
    const input = (overrides: Record<string, unknown> = {}) => ({ kind: 'CCXT', exchangeId: 'binance', label: 'Main', apiKey, secret, ...overrides });

    it('needs the TRADER or ADMIN role', async () => {
      const customer = await h.token(randomUUID(), 'CUSTOMER');
      expect(errorCode(await h.request(LINK, { input: input() }, customer))).toBe('FORBIDDEN');
    });

    it('links an account whose credentials the exchange accepts, stores them sealed, and never returns or logs them', async () => {
      const token = await h.token(randomUUID(), 'TRADER');
      const linked = await h.request(LINK, { input: input() }, token);
      expect(linked.errors).toBeUndefined();
      const account = linked.data!.linkExchangeAccount;
      expect(account).toMatchObject({ kind: 'CCXT', exchangeId: 'binance', label: 'Main', apiKeyHint: apiKey.slice(-4), feeRate: '0', slippageBps: '0' });
      const balances = await h.request(BALANCES, { accountId: account.id }, token);
      expect(balances.data!.balances).toEqual([
        { asset: 'BTC', free: '0.5', locked: '0', total: '0.5' },
        { asset: 'USDT', free: '10000', locked: '0', total: '10000' },
      ]);
      const listed = await h.request(ACCOUNTS, {}, token);

      const [row] = await h.server.orm.em.fork().execute<{ credentials: string }[]>(`select "credentials" from "exchange_account" where "id" = ?`, [account.id]);
      expect(row!.credentials).toMatch(/^v1\.old\./);
      for (const text of [row!.credentials, JSON.stringify(linked), JSON.stringify(balances), JSON.stringify(listed), h.logs.join('\n')]) {
        expect(text).not.toContain(apiKey);
        expect(text).not.toContain(secret);
      }
      // The sealed value opens, for this account only.
      const keyring = parseKeyring(KEY);
      expect(openCredentials(keyring, row!.credentials, account.id)).toEqual({ apiKey, secret });
      expect(() => openCredentials(keyring, row!.credentials, randomUUID())).toThrow('failed authentication');
    });

    it('refuses credentials the exchange refuses, an unknown exchange, and an exchange that is down, storing nothing', async () => {
      const token = await h.token(randomUUID(), 'TRADER');
      const wrong = credential();
      const refused = await h.request(LINK, { input: input({ secret: wrong }) }, token);
      expect(errorCode(refused)).toBe('BAD_USER_INPUT');
      expect(refused.errors![0]!.message).toBe('The exchange refused the API credentials while checking the credentials');
      expect(errorCode(await h.request(LINK, { input: input({ exchangeId: 'nosuchexchange' }) }, token))).toBe('BAD_USER_INPUT');
      expect(errorCode(await h.request(LINK, { input: input({ secret: undefined }) }, token))).toBe('BAD_USER_INPUT');
      fake.fail(3);
      expect(errorCode(await h.request(LINK, { input: input() }, token))).toBe('UPSTREAM_UNAVAILABLE');
      fake.fail(0);
      expect((await h.request(ACCOUNTS, {}, token)).data!.exchangeAccounts).toEqual([]);
      expect(h.logs.join('\n')).not.toContain(wrong);
    });

    it('re-seals stored credentials under a new current key (rotation); the old key alone no longer opens them', async () => {
      const token = await h.token(randomUUID(), 'TRADER');
      const accountId = (await h.request(LINK, { input: input() }, token)).data!.linkExchangeAccount.id as string;
      const rotated = parseKeyring(`new:${randomBytes(32).toString('base64')},${KEY}`);
      const config = readTradingConfig({});
      const service = new AccountService({
        paperDefaults: config.paperAccounts,
        adapters: new ExchangeAdapters({ factory: () => { throw new Error('unused'); }, keyring: rotated, timeoutMs: 1000, log: pino({ level: 'silent' }) }),
      });
      const em = h.server.orm.em.fork();
      expect(await service.resealAll(em)).toBeGreaterThanOrEqual(1);
      const [row] = await em.execute<{ credentials: string }[]>(`select "credentials" from "exchange_account" where "id" = ?`, [accountId]);
      expect(row!.credentials).toMatch(/^v1\.new\./);
      expect(openCredentials(rotated, row!.credentials, accountId)).toEqual({ apiKey, secret });
      expect(() => openCredentials(parseKeyring(KEY), row!.credentials, accountId)).toThrow();
      // A second run has nothing left to do.
      expect(await service.resealAll(em)).toBe(0);
    });
  });
});
