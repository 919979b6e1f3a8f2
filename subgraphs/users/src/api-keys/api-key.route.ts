import { sendJson, type MikroORM, type Route } from '../../../kit/src';
import type { ApiKeyService } from './api-key.service';

/** Where partners exchange an API key for an access token; the router calls it too. */
export const API_KEY_TOKEN_PATH = '/api-keys/token';

/** The one answer to every refusal, so a caller cannot tell an unknown key from a revoked or expired one. */
const INVALID_API_KEY = { error: 'INVALID_API_KEY', message: 'The API key is not valid' };

/** Tokens must not be kept by caches between the partner and us. */
const NO_STORE = { 'cache-control': 'no-store' };

/**
 * `POST /api-keys/token` with `x-api-key: <key>` and no body: 200 `{ accessToken, expiresAt, scopes }`,
 * or 401 INVALID_API_KEY for a missing, malformed, unknown, revoked or expired key, or an owner who
 * is no longer PARTNER or ADMIN. The key never reaches a log line; the refusal reason does.
 */
export function apiKeyTokenRoute(deps: { orm: MikroORM; apiKeys: ApiKeyService }): Route {
  return {
    method: 'POST',
    path: API_KEY_TOKEN_PATH,
    async handle({ req, res, log }) {
      const header = req.headers['x-api-key'];
      const exchange = await deps.apiKeys.exchange(deps.orm.em.fork(), typeof header === 'string' ? header : '');
      if (exchange.ok) {
        sendJson(res, 200, exchange.token, NO_STORE);
        return;
      }
      // A known key refused is worth reading (a partner still using a revoked key); guesses are not.
      log[exchange.apiKeyId ? 'info' : 'debug']({ reason: exchange.reason, apiKeyId: exchange.apiKeyId }, 'API key refused');
      sendJson(res, 401, INVALID_API_KEY, NO_STORE);
    },
  };
}
