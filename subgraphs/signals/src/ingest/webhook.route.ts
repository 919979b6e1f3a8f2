import { sendJson, type Route } from '../../../kit/src';
import { clientIp, proxyMatcher } from './client-ip';
import type { IngestService } from './ingest.service';

/** `POST /webhook/u/<token>`: anything after `/u/` is the token (a malformed one is just an unknown one). */
export const WEBHOOK_PATH = /^\/webhook\/u\/([^/]{1,512})$/;

/**
 * The TradingView webhook. Answers as soon as the alert is stored (or refused); screenshots and
 * subscriptions follow the answer, so TradingView's 3 s timeout never waits on them.
 */
export function webhookRoute(deps: { ingest: IngestService; trustedProxies: readonly string[] }): Route {
  const isProxy = proxyMatcher(deps.trustedProxies);
  return {
    method: 'POST',
    path: WEBHOOK_PATH,
    name: '/webhook/u/:token',
    // The request's logger is built on first use (`context.log`): an accepted alert never needs one.
    async handle(context) {
      const { req, res, params, body } = context;
      const reply = await deps.ingest.receive({
        token: params[0] ?? '',
        body,
        contentType: req.headers['content-type'],
        remoteIp: clientIp(req, isProxy),
      });
      sendJson(res, reply.status, reply.body, reply.headers);
      // Every refusal is in the audit log already.
      if (reply.status >= 400) context.log.debug({ status: reply.status, error: reply.body.error }, 'webhook delivery refused');
      const { after } = reply;
      // A group commit answers many requests at once: each sends its answer before any of them queues its screenshot.
      if (after) setImmediate(() => void after().catch((error: unknown) => context.log.error({ err: error }, 'work after a stored alert failed')));
    },
  };
}
