import { createHash } from 'node:crypto';

/** The namespace of portfolio ids (a random UUID fixed once; changing it changes every id). */
const PORTFOLIO_NAMESPACE = 'b7f0c3de-5a1e-4c8e-9f4b-2d6a1e0c9a57';

/** RFC 4122 name-based UUID (version 5, SHA-1). */
function uuidV5(name: string, namespace: string): string {
  const hash = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Every user has exactly one portfolio, whose id follows from the user id: reading a portfolio
 * never has to write one, and the id is the same before and after its first fill.
 */
export const portfolioIdOf = (userId: string): string => uuidV5(userId, PORTFOLIO_NAMESPACE);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID.test(value);

/** An asset code (BTC, USDT) or a unified spot symbol (BTC/USDT), as trading writes them. */
export const ASSET_PATTERN = /^[A-Z0-9]{1,20}$/;
export const SYMBOL_PATTERN = /^[A-Z0-9]{1,20}\/[A-Z0-9]{1,19}$/;

/** BASE/QUOTE of a unified symbol. */
export function splitSymbol(symbol: string): { base: string; quote: string } {
  const [base = '', quote = ''] = symbol.split('/');
  return { base, quote };
}
