import { createPubSub } from '@graphql-yoga/subscription';
import { createLogger } from '../../kit/src';
import { PriceBook, quoteOfMessage, type PriceSource } from '../src/price/price-book';

const at = (second: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, second));
const book = () => new PriceBook({ pubsub: createPubSub() as unknown as PriceSource, log: createLogger('test', 'silent'), flushMs: 60_000 });

describe('PriceBook.observe', () => {
  it('keeps the newest price of each symbol', () => {
    const prices = book();
    expect(prices.observe({ symbol: 'BTC/USDT', price: '100', at: at(2) })).toBe(true);
    expect(prices.observe({ symbol: 'BTC/USDT', price: '90', at: at(1) })).toBe(false);
    expect(prices.observe({ symbol: 'BTC/USDT', price: '110', at: at(3) })).toBe(true);
    expect(prices.get('BTC/USDT')).toEqual({ symbol: 'BTC/USDT', price: '110', at: at(3) });
    expect(prices.get('ETH/USDT')).toBeUndefined();
  });

  it("lets a tick replace a fill's or a stored price even when their clocks disagree, not the other way round", () => {
    const prices = book();
    prices.observe({ symbol: 'BTC/USDT', price: '100', at: at(10) }, { source: 'fill' });
    expect(prices.observe({ symbol: 'BTC/USDT', price: '101', at: at(9) })).toBe(true);
    expect(prices.observe({ symbol: 'BTC/USDT', price: '99', at: at(8) }, { source: 'fill' })).toBe(false);
    expect(prices.observe({ symbol: 'BTC/USDT', price: '98', at: at(8) })).toBe(false);
    expect(prices.get('BTC/USDT')!.price).toBe('101');
    prices.observe({ symbol: 'ETH/USDT', price: '10', at: at(10) }, { source: 'stored' });
    expect(prices.observe({ symbol: 'ETH/USDT', price: '11', at: at(5) })).toBe(true);
  });

  it('tells listeners of every price it keeps', () => {
    const prices = book();
    const heard: string[] = [];
    prices.events.on('price', (quote) => heard.push(`${quote.symbol} ${quote.price}`));
    prices.observe({ symbol: 'BTC/USDT', price: '100', at: at(2) });
    prices.observe({ symbol: 'BTC/USDT', price: '90', at: at(1) });
    expect(heard).toEqual(['BTC/USDT 100']);
  });
});

describe('quoteOfMessage', () => {
  it("reads trading's price message", () => {
    expect(
      quoteOfMessage({ symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', exchange: 'paper', lastPrice: '67250.5', change24h: null, volume24h: '1', updatedAt: '2024-01-01T00:00:02.000Z' }),
    ).toEqual({ symbol: 'BTC/USDT', price: '67250.5', at: at(2) });
  });

  it('refuses malformed ones', () => {
    for (const message of [null, 'BTC', { symbol: 'btc', lastPrice: '1', updatedAt: '2024-01-01T00:00:00Z' }, { symbol: 'BTC/USDT', lastPrice: 1, updatedAt: '2024-01-01T00:00:00Z' }, { symbol: 'BTC/USDT', lastPrice: '0', updatedAt: '2024-01-01T00:00:00Z' }, { symbol: 'BTC/USDT', lastPrice: '1', updatedAt: 'soon' }]) {
      expect(quoteOfMessage(message)).toBeNull();
    }
  });
});
