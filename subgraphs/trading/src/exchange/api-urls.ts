import type { Exchange } from 'ccxt';

/**
 * Entries replacing an exchange's `urls.api`, e.g. to point ccxt at a local server speaking the
 * exchange's API. An object entry (ccxt's `ws`, by market type) is merged into the exchange's own.
 */
export type ApiUrls = Record<string, string | Record<string, string>>;

export function replaceApiUrls(exchange: Exchange, urls: ApiUrls): void {
  const current = exchange.urls.api as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...current };
  for (const [name, value] of Object.entries(urls)) {
    const own = current[name];
    merged[name] = typeof value === 'object' && typeof own === 'object' && own !== null ? { ...own, ...value } : value;
  }
  exchange.urls.api = merged as Exchange['urls']['api'];
}
