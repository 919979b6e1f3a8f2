import { randomBytes } from 'node:crypto';
import { ConfigError } from '../../kit/src';
import { parseBalances, readTradingConfig } from '../src/config';

describe('trading config: paper accounts, risk, orders, credentials', () => {
  it('has defaults for every trading setting', () => {
    const config = readTradingConfig({});
    expect(config.paperAccounts).toEqual({ startingBalances: { USDT: '10000' }, feeRate: '0.001', slippageBps: '5' });
    expect(config.risk).toEqual({ maxOrderNotional: '100000', maxPositionNotional: '250000', dailyLossLimit: '10000' });
    expect(config.orders).toEqual({ maxPage: 100, exchangeTimeoutMs: 10000, twapMinIntervalMs: 1000, twapMaxDurationMs: 86400000, triggerFlushMs: 1000, exchangePollMs: 5000 });
    expect(config.credentialKeyring).toBeNull();
  });

  it('reads them, "none" switching a risk limit off, and parses the keyring', () => {
    const key = randomBytes(32).toString('base64');
    const config = readTradingConfig({
      PAPER_STARTING_BALANCES: 'USDT:500, BTC:0.25',
      PAPER_FEE_RATE: '0.00075',
      PAPER_SLIPPAGE_BPS: '0',
      RISK_MAX_ORDER_NOTIONAL: 'none',
      RISK_DAILY_LOSS_LIMIT: '250.5',
      CREDENTIALS_KEYS: `k2:${key}`,
    });
    expect(config.paperAccounts).toEqual({ startingBalances: { USDT: '500', BTC: '0.25' }, feeRate: '0.00075', slippageBps: '0' });
    expect(config.risk).toMatchObject({ maxOrderNotional: null, dailyLossLimit: '250.5' });
    expect(config.credentialKeyring!.current.id).toBe('k2');
  });

  it('reports bad values together, without echoing key material', () => {
    let error: unknown;
    const key = 'c2hvcnQ=';
    try {
      readTradingConfig({ PAPER_STARTING_BALANCES: 'USDT=5', PAPER_FEE_RATE: '1.5', RISK_MAX_POSITION_NOTIONAL: '-1', CREDENTIALS_KEYS: `k1:${key}` });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PAPER_STARTING_BALANCES', 'PAPER_FEE_RATE', 'RISK_MAX_POSITION_NOTIONAL', 'CREDENTIALS_KEYS']) expect(problems).toContain(name);
    expect(problems).not.toContain(key);
  });

  it('parses starting balances', () => {
    expect(parseBalances('USDT:10000,ETH:1.50')).toEqual({ USDT: '10000', ETH: '1.5' });
    expect(parseBalances('')).toEqual({});
    expect(parseBalances('usdt:1')).toBeNull();
    expect(parseBalances('USDT:1:2')).toBeNull();
  });
});
