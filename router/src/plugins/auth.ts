import { viewerFromHeader, type TokenVerifier, type Viewer } from '../../../subgraphs/kit/src/auth';
import type { RouterPlugin } from './types';

export interface AuthPluginOptions {
  verifyToken: TokenVerifier;
  /** Verified tokens remembered (until they expire, at most `cacheTtlMs`), so a client's repeated calls skip the signature check. */
  cacheSize?: number;
  cacheTtlMs?: number;
}

interface Verified {
  viewer: Viewer;
  until: number;
}

/** The `exp` claim of a compact JWT already verified, in ms; undefined if absent. */
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
 * Verifies the caller's `Authorization: Bearer <jwt>` before execution: a missing header is an
 * anonymous caller, a malformed, invalid or expired token answers 401 UNAUTHENTICATED (the error
 * carries `http.status`, which Apollo Server applies when context creation fails). The raw header
 * is kept on the context and forwarded to subgraphs, which verify it again.
 */
export function authPlugin(options: AuthPluginOptions): RouterPlugin {
  const cacheSize = options.cacheSize ?? 10_000;
  const cacheTtlMs = options.cacheTtlMs ?? 60_000;
  const verified = new Map<string, Verified>();

  async function verify(header: string): Promise<Viewer | null> {
    const now = Date.now();
    const hit = verified.get(header);
    if (hit) {
      if (hit.until > now) return hit.viewer;
      verified.delete(header);
    }
    const viewer = await viewerFromHeader(header, options.verifyToken);
    if (viewer && cacheSize > 0) {
      const token = header.trim().split(/\s+/)[1] ?? '';
      const until = Math.min(expiresAt(token) ?? now, now + cacheTtlMs);
      if (until > now) {
        // Map keeps insertion order: drop the oldest entry when full.
        if (verified.size >= cacheSize) verified.delete(verified.keys().next().value!);
        verified.set(header, { viewer, until });
      }
    }
    return viewer;
  }

  return {
    name: 'auth',
    async onContext(context, exchange) {
      const header = exchange.req.headers.authorization;
      if (!header) return;
      context.viewer = await verify(header);
      context.authorization = header;
    },
  };
}
