import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Random bytes in a webhook token: 256 bits, as many as the SHA-256 that stores it. */
export const TOKEN_BYTES = 32;

/** A new webhook token: 32 random bytes, base64url (43 characters, safe in a URL path). */
export const newWebhookToken = (): string => randomBytes(TOKEN_BYTES).toString('base64url');

/**
 * What the database keeps of a token. A plain SHA-256 is enough here (no salt, no slow hash): the
 * token has 256 bits of entropy, so there is nothing to brute-force, and lookups by hash stay one
 * indexed equality whatever the token is.
 */
export const hashWebhookToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/**
 * The passphrase an endpoint may require in each alert body, as HMAC-SHA-256 under a random salt of
 * its own. Not argon2: it is checked on every alert, inside the webhook's few-millisecond budget, and
 * a deliberately slow hash would make each alert (and each forged one) cost tens of milliseconds of
 * CPU. It is a second secret next to the 256-bit URL token, not the account's login password; the
 * salt stops precomputed tables, and the form asks for at least 8 characters.
 */
export function hashPassphrase(passphrase: string, salt: Buffer = randomBytes(16)): { salt: Buffer; hash: Buffer } {
  return { salt, hash: createHmac('sha256', salt).update(passphrase, 'utf8').digest() };
}

/** Constant-time check of a candidate passphrase against the stored salt and hash. */
export function passphraseMatches(candidate: string | null | undefined, salt: Buffer, hash: Buffer): boolean {
  const computed = hashPassphrase(candidate ?? '', salt).hash;
  return timingSafeEqual(computed, hash) && candidate !== null && candidate !== undefined;
}

/** The URL TradingView posts to: shown only when the token is made (create and rotate). */
export const webhookUrl = (publicBaseUrl: string, token: string): string => `${publicBaseUrl}/webhook/u/${token}`;
