import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { Viewer } from '../../../subgraphs/kit/src/auth';
import type { FixedWindowRateLimiter, RateDecision } from '../../../subgraphs/kit/src/rate-limit';
import type { RouterPlugin } from './types';

export interface CallerLimitOptions {
  /** Requests per window of one API key; null: unlimited. */
  apiKeys: FixedWindowRateLimiter | null;
  /** Requests per window of one signed-in user (bearer token); null: unlimited. */
  users: FixedWindowRateLimiter | null;
}

/** A refusal: whom the limit counted ("this API key", "this user") and when to retry. */
export type CallerRefusal = { who: string; retryAfterSeconds: number };

/** Counts one request of a signed-in caller; answers the refusal once the caller is over its limit, else null. */
export type CallerLimit = (viewer: Viewer) => Promise<CallerRefusal | null>;

/**
 * Limits per caller, counted in Redis across router replicas: per API key, and per signed-in user.
 * HTTP requests and operations on a WebSocket count alike. Anonymous callers are left to the edge
 * (per-address limits belong in front of the router, which sees the proxy's address).
 */
export function callerLimit(options: CallerLimitOptions): CallerLimit {
  return async (viewer) => {
    const [limiter, caller, who] = viewer.apiKeyId ? [options.apiKeys, `key:${viewer.apiKeyId}`, 'this API key'] : [options.users, `user:${viewer.id}`, 'this user'];
    if (!limiter) return null;
    const decision: RateDecision = await limiter.hit(caller);
    return decision.allowed ? null : { who, retryAfterSeconds: decision.retryAfterSeconds };
  };
}

/** A refused HTTP request answers 429 RATE_LIMITED with Retry-After. */
export function rateLimitPlugin(limit: CallerLimit): RouterPlugin {
  return {
    name: 'rate-limit',
    async onContext(context) {
      if (!context.viewer) return;
      const refusal = await limit(context.viewer);
      if (!refusal) return;
      throw new GraphQLError(`Too many requests for ${refusal.who}; retry in ${refusal.retryAfterSeconds} s`, {
        extensions: {
          code: 'RATE_LIMITED',
          retryAfterSeconds: refusal.retryAfterSeconds,
          http: { status: 429, headers: new HeaderMap([['retry-after', String(refusal.retryAfterSeconds)]]) },
        },
      });
    },
  };
}
