import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { FixedWindowRateLimiter } from '../../../subgraphs/kit/src/rate-limit';
import type { RouterPlugin } from './types';

export interface RateLimitPluginOptions {
  /** Requests per window of one API key; null: unlimited. */
  apiKeys: FixedWindowRateLimiter | null;
  /** Requests per window of one signed-in user (bearer token); null: unlimited. */
  users: FixedWindowRateLimiter | null;
}

/**
 * Limits requests per caller, counted in Redis across router replicas: per API key, and per
 * signed-in user. Anonymous callers are left to the edge (per-address limits belong in front of
 * the router, which sees the proxy's address). A refusal answers 429 RATE_LIMITED with Retry-After.
 */
export function rateLimitPlugin(options: RateLimitPluginOptions): RouterPlugin {
  return {
    name: 'rate-limit',
    async onContext(context) {
      const viewer = context.viewer;
      if (!viewer) return;
      const [limiter, caller, who] = viewer.apiKeyId ? [options.apiKeys, `key:${viewer.apiKeyId}`, 'this API key'] : [options.users, `user:${viewer.id}`, 'this user'];
      if (!limiter) return;
      const decision = await limiter.hit(caller);
      if (decision.allowed) return;
      throw new GraphQLError(`Too many requests for ${who}; retry in ${decision.retryAfterSeconds} s`, {
        extensions: {
          code: 'RATE_LIMITED',
          retryAfterSeconds: decision.retryAfterSeconds,
          http: { status: 429, headers: new HeaderMap([['retry-after', String(decision.retryAfterSeconds)]]) },
        },
      });
    },
  };
}
