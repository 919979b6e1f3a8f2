import { EventEmitter } from 'node:events';
import type { MarketFeed, MarketFeedEvents, Tick } from '../../src/market/market-feed';

/**
 * A market feed a test scripts price by price: `price('BTC/USDT', '67000')` emits that tick at
 * once (every tick a millisecond after the previous one), so a test walks a price path exactly.
 */
export class ScriptedFeed implements MarketFeed {
  readonly kind = 'paper' as const;
  readonly exchange = 'paper';
  readonly events = new EventEmitter<MarketFeedEvents>();
  private time: number;

  constructor(start: number = Date.now()) {
    this.time = start;
  }

  start(): void {
    this.events.emit('status', { state: 'live', session: 1, mode: 'paper' });
  }

  async stop(): Promise<void> {
    this.events.emit('status', { state: 'stopped', session: 1 });
  }

  /** Emits one tick of `symbol` at `lastPrice`. */
  price(symbol: string, lastPrice: string): Tick {
    this.time += 1;
    const tick: Tick = { symbol, exchange: this.exchange, lastPrice, change24h: null, volume24h: null, timestamp: this.time };
    this.events.emit('tick', tick);
    return tick;
  }

  /** Emits a path of prices of one symbol, in order. */
  path(symbol: string, prices: readonly string[]): void {
    for (const price of prices) this.price(symbol, price);
  }
}
