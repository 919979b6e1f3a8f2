/** The last price of each instrument as the engine saw it, from the feed in this process or Redis. */
export class PriceBook {
  private readonly prices = new Map<string, { price: string; timestamp: number }>();

  /**
   * Records a tick. False when it is not news: older than the last one, or the same tick again (a
   * tick can arrive twice: from the feed in this process and back through Redis).
   */
  update(symbol: string, price: string, timestamp: number): boolean {
    const known = this.prices.get(symbol);
    if (known && (timestamp < known.timestamp || (timestamp === known.timestamp && price === known.price))) return false;
    this.prices.set(symbol, { price, timestamp });
    return true;
  }

  last(symbol: string): string | null {
    return this.prices.get(symbol)?.price ?? null;
  }
}
