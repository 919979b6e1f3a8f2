import { GRAPHQL_PATH } from './landing-page';
import type { RouterPlugin } from './types';

/** Which browser origins may call `/graphql` from their pages (Apollo Router's `cors`). */
export interface CorsOptions {
  /**
   * Exact origins (`https://app.mercado.example`), one wildcard label (`https://*.mercado.example`
   * matches one or more subdomains, not the bare domain) or `*` (any origin, never with credentials).
   */
  origins: readonly string[];
  /** Answer `Access-Control-Allow-Credentials: true` (cookies); the apps send bearer tokens and need not. */
  allowCredentials: boolean;
  /** How long a browser may keep a preflight's answer. */
  maxAgeSeconds: number;
}

/** What the apps, Apollo Client and partners send besides the CORS-safelisted headers. */
const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'x-api-key',
  'x-request-id',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
].join(', ');
/** Response headers a page's script may read: the request id for support, Retry-After for rate limits. */
const EXPOSED_HEADERS = 'x-request-id, retry-after';

/** One configured origin as a test on the `Origin` header. */
function originMatcher(pattern: string): (origin: string) => boolean {
  if (pattern === '*') return () => true;
  const wildcard = /^(https?):\/\/\*\.([^*/]+)$/.exec(pattern);
  if (!wildcard) return (origin) => origin === pattern;
  const [, scheme, domain] = wildcard;
  const suffix = `.${domain}`;
  const prefix = `${scheme}://`;
  return (origin) => origin.startsWith(prefix) && origin.endsWith(suffix) && /^[a-z0-9.-]+$/i.test(origin.slice(prefix.length, -suffix.length));
}

/** A configured origin that `originMatcher` cannot read: anything but `*`, a scheme and host (and port), or one wildcard label. */
export function invalidCorsOrigin(pattern: string): boolean {
  if (pattern === '*') return false;
  return !/^https?:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/i.test(pattern);
}

/**
 * CORS for `/graphql`: a preflight from an allowed origin is answered 204 with what it may send, one
 * from another origin 403; an allowed origin's requests get `Access-Control-Allow-Origin` (its own
 * origin, with `Vary: Origin`). Requests without `Origin` (servers, partners, same-origin pages) are
 * untouched, and no origin allowed means same-origin only. graphql-ws is not CORS: a socket carries
 * its token in `connectionParams`, which a foreign page cannot read.
 */
export function corsPlugin(options: CorsOptions): RouterPlugin {
  const matchers = options.origins.map(originMatcher);
  const anyOrigin = options.origins.includes('*');
  const credentials = options.allowCredentials && !anyOrigin;
  const allowed = (origin: string): boolean => matchers.some((matches) => matches(origin));
  return {
    name: 'cors',
    onRequest(exchange) {
      const origin = exchange.req.headers.origin;
      if (exchange.path !== GRAPHQL_PATH || typeof origin !== 'string') return;
      const { res } = exchange;
      res.setHeader('vary', 'Origin');
      const preflight = exchange.method === 'OPTIONS' && exchange.req.headers['access-control-request-method'] !== undefined;
      if (!allowed(origin)) {
        if (!preflight) return;
        exchange.route = 'cors_preflight';
        res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end(`Origin ${origin} may not call this API`);
        return true;
      }
      res.setHeader('access-control-allow-origin', origin);
      if (credentials) res.setHeader('access-control-allow-credentials', 'true');
      if (!preflight) {
        res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
        return;
      }
      exchange.route = 'cors_preflight';
      res
        .writeHead(204, {
          'access-control-allow-methods': 'GET, POST, OPTIONS',
          'access-control-allow-headers': ALLOWED_HEADERS,
          'access-control-max-age': String(options.maxAgeSeconds),
        })
        .end();
      return true;
    },
  };
}
