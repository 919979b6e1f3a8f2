import { createHash, randomBytes } from 'node:crypto';

/** How much of a key is stored in clear and shown to its owner: `mk_` and 8 more characters. */
const API_KEY_PREFIX_LENGTH = 11;

/** A new key: `mk_` (so a leaked one is recognisable) and 32 random bytes, base64url: 46 characters. */
export const generateApiKey = (): string => `mk_${randomBytes(32).toString('base64url')}`;

/**
 * What the database keeps of a key. A plain SHA-256 is enough (no salt, no slow hash): the key has
 * 256 bits of entropy, so there is nothing to brute-force, and a lookup stays one indexed equality.
 */
export const hashApiKey = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

export const apiKeyPrefix = (key: string): string => key.slice(0, API_KEY_PREFIX_LENGTH);

/** Shape check before touching the database; anything else cannot be a key we issued. */
export const looksLikeApiKey = (key: string): boolean => /^mk_[A-Za-z0-9_-]{43}$/.test(key);
