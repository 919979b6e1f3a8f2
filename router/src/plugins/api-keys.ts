import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { TokenVerifier, Viewer } from '../../../subgraphs/kit/src/auth';
import type { RouterPlugin } from './types';

export interface ApiKeyExchangeOptions {
  /** The users subgraph's `POST /api-keys/token`, which trades a key for a short-lived JWT. */
  exchangeUrl: string;
  verifyToken: TokenVerifier;
  /** Default 5000 ms. */
  timeoutMs?: number;
  /** Keys remembered. Default 10,000. */
  cacheSize?: number;
  /**
   * How long a key's token is reused before the key is checked again (at most until shortly before
   * the token expires): the delay before a revoked key stops working. Default 60 s.
   */
  cacheTtlMs?: number;
  /** How long a refused key is remembered, so a client repeating it does not reach users each time. Default 30 s. */
  refusedTtlMs?: number;
}

/** What a valid key stands for: its owner (with the key's scopes and id) and the token subgraphs get. */
export interface ExchangedKey {
  viewer: Viewer;
  authorization: string;
}

/** Trades API keys for their owners' tokens, cached; shared by HTTP requests and WebSocket connections. */
export interface ApiKeyExchange {
  /** The key's owner and token; null for a key users refuses. Throws UPSTREAM_UNAVAILABLE when keys cannot be checked. */
  exchange(key: string): Promise<ExchangedKey | null>;
}

interface Entry {
  result: Promise<ExchangedKey | null>;
  until: number;
}

/** Tokens are used until this long before they expire, so none expires on its way to a subgraph. */
const EXPIRY_MARGIN_MS = 30_000;

const invalidKey = () => new GraphQLError('The API key is not valid', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

/**
 * The router trades a partner's API key for a short-lived JWT at the users subgraph (which owns
 * keys and signs tokens), verifies it like any bearer token, and forwards it to subgraphs, so they
 * see the key's owner with the key's scopes and id. The token never leaves the router and
 * subgraphs. Tokens are cached per key (by its sha256) for `cacheTtlMs`, so a revoked key stops
 * working within that time; concurrent callers share one exchange.
 */
export function createApiKeyExchange(options: ApiKeyExchangeOptions): ApiKeyExchange {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const cacheSize = options.cacheSize ?? 10_000;
  const cacheTtlMs = options.cacheTtlMs ?? 60_000;
  const refusedTtlMs = options.refusedTtlMs ?? 30_000;
  const cache = new Map<string, Entry>();

  async function tradeKey(key: string): Promise<{ exchanged: ExchangedKey | null; until: number }> {
    try {
      const response = await fetch(options.exchangeUrl, { method: 'POST', headers: { 'x-api-key': key }, signal: AbortSignal.timeout(timeoutMs) });
      if (response.status === 401) {
        await response.body?.cancel();
        return { exchanged: null, until: Date.now() + refusedTtlMs };
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`key exchange answered HTTP ${response.status}`);
      }
      const { accessToken, expiresAt } = (await response.json()) as { accessToken: string; expiresAt: string };
      const viewer = await options.verifyToken(accessToken);
      const until = Math.min(Date.parse(expiresAt) - EXPIRY_MARGIN_MS, Date.now() + cacheTtlMs);
      if (Number.isNaN(until)) throw new Error('key exchange answered no expiry');
      return { exchanged: { viewer, authorization: `Bearer ${accessToken}` }, until };
    } catch (error) {
      // Unreachable, failing or answering what we cannot verify: the key is not the caller's fault.
      throw new GraphQLError('API keys cannot be checked right now', { extensions: { code: 'UPSTREAM_UNAVAILABLE', http: { status: 503 } }, originalError: error as Error });
    }
  }

  function lookup(key: string): Promise<ExchangedKey | null> {
    const id = createHash('sha256').update(key).digest('hex');
    const now = Date.now();
    const hit = cache.get(id);
    if (hit && hit.until > now) return hit.result;
    // Until the exchange answers, concurrent requests with this key wait for the same one.
    const entry: Entry = { result: Promise.resolve(null), until: Number.POSITIVE_INFINITY };
    entry.result = tradeKey(key).then(
      ({ exchanged, until }) => {
        entry.until = until;
        if (until <= Date.now() && cache.get(id) === entry) cache.delete(id);
        return exchanged;
      },
      (error: unknown) => {
        if (cache.get(id) === entry) cache.delete(id);
        throw error;
      },
    );
    cache.delete(id);
    // Map keeps insertion order: drop the oldest entry when full.
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
    cache.set(id, entry);
    return entry.result;
  }

  return { exchange: lookup };
}

/** Partners authenticate HTTP requests with `x-api-key` (never next to a bearer token). */
export function apiKeyPlugin(keys: ApiKeyExchange): RouterPlugin {
  return {
    name: 'api-keys',
    async onContext(context, exchange) {
      const key = exchange.req.headers['x-api-key'];
      if (key === undefined) return;
      if (Array.isArray(key) || exchange.req.headers.authorization !== undefined) {
        throw new GraphQLError('Send either an API key (x-api-key) or a bearer token (Authorization), not both', {
          extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
        });
      }
      const exchanged = await keys.exchange(key);
      if (!exchanged) throw invalidKey();
      context.viewer = exchanged.viewer;
      context.authorization = exchanged.authorization;
    },
  };
}
