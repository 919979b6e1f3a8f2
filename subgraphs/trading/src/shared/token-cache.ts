import type { TokenVerifier, Viewer } from '../../../kit/src';

export interface TokenCacheOptions {
  /** Tokens remembered at most; the oldest goes first. Default 10000. */
  size?: number;
  /** How long a verified token is remembered at most (never past its `exp`). Default 60 s. */
  ttlMs?: number;
  now?: () => number;
}

/** The `exp` claim of a compact JWT that was just verified, in ms; undefined when absent. */
function expiresAt(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `verify` remembering what it accepted, as the router does: a trader's next calls skip the ES256
 * check (a tenth of a placement's CPU) until the token expires, for at most `ttlMs`. Refused
 * tokens are not remembered; a token without `exp` is verified every time.
 */
export function cacheVerifiedTokens(verify: TokenVerifier, options: TokenCacheOptions = {}): TokenVerifier {
  const size = options.size ?? 10_000;
  const ttlMs = options.ttlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const verified = new Map<string, { viewer: Viewer; until: number }>();
  return async (token) => {
    const at = now();
    const hit = verified.get(token);
    if (hit) {
      if (hit.until > at) return hit.viewer;
      verified.delete(token);
    }
    const viewer = await verify(token);
    const until = Math.min(expiresAt(token) ?? at, at + ttlMs);
    if (until > at && size > 0) {
      // A Map iterates in insertion order: the first key is the oldest.
      if (verified.size >= size) verified.delete(verified.keys().next().value!);
      verified.set(token, { viewer, until });
    }
    return viewer;
  };
}
