import { ConfigError } from '../../kit/src';
import { readTradingConfig } from '../src/config';

describe('readTradingConfig', () => {
  it('defaults to port 4006, mercado_trading and the paper feed', () => {
    const config = readTradingConfig({});
    expect(config).toMatchObject({
      name: 'trading',
      port: 4006,
      marketFeed: 'paper',
      priceFlushMs: 1000,
      feedLeaseMs: 10000,
      pubsubPrefix: 'mercado:pubsub:',
      paper: { tickMs: 250, seed: null },
      ccxt: { exchange: 'binance', pollMs: 2000, staleMs: 30000, backoffMs: 1000, backoffMaxMs: 60000, websocket: true, apiKey: undefined, secret: undefined },
    });
    expect(config.databaseUrl).toMatch(/\/mercado_trading$/);
  });

  it('reads the feed settings', () => {
    const config = readTradingConfig({
      MARKET_FEED: 'ccxt',
      PAPER_TICK_MS: '100',
      PAPER_SEED: '42',
      CCXT_EXCHANGE: 'kraken',
      CCXT_API_KEY: 'key',
      CCXT_SECRET: 'secret',
      CCXT_POLL_MS: '500',
      CCXT_STALE_MS: '5000',
      CCXT_WEBSOCKET: 'false',
    });
    expect(config.marketFeed).toBe('ccxt');
    expect(config.paper).toEqual({ tickMs: 100, seed: 42 });
    expect(config.ccxt).toMatchObject({ exchange: 'kraken', apiKey: 'key', secret: 'secret', pollMs: 500, staleMs: 5000, websocket: false });
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      readTradingConfig({ MARKET_FEED: 'live', PAPER_TICK_MS: 'fast', CCXT_EXCHANGE: 'Bin-ance', CCXT_API_KEY: 'key', CCXT_POLL_MS: '5000', CCXT_STALE_MS: '1000' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('MARKET_FEED');
    expect(problems).toContain('PAPER_TICK_MS');
    expect(problems).toContain('CCXT_EXCHANGE');
    expect(problems).toContain('CCXT_STALE_MS');
    expect(problems).toContain('CCXT_SECRET');
  });
});
