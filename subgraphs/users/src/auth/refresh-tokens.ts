import { createHash, randomBytes } from 'node:crypto';

/** Opaque refresh token: 32 random bytes, base64url (43 characters). */
export const generateRefreshToken = (): string => randomBytes(32).toString('base64url');

/** What the database stores instead of the token: hex SHA-256. */
export const hashRefreshToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** Shape check before touching the database; anything else cannot be a token we issued. */
export const looksLikeRefreshToken = (token: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(token);
