import type Stripe from 'stripe';
import { sendJson, type MikroORM, type Route } from '../../../kit/src';
import type { PaymentService } from './payment.service';
import type { StripeClient } from './stripe.provider';

export const STRIPE_WEBHOOK_PATH = '/webhooks/stripe';

/**
 * `POST /webhooks/stripe`: the signature is checked on the raw bytes before anything is read
 * (bad or missing: 400, nothing changes). Verified events are applied once each (200, also for
 * duplicates and for types we do not handle); a failure to apply answers 500 so Stripe retries.
 */
export function stripeWebhookRoute(deps: { stripe: StripeClient; webhookSecret: string; orm: MikroORM; service: PaymentService }): Route {
  return {
    method: 'POST',
    path: STRIPE_WEBHOOK_PATH,
    async handle({ req, res, body, log }) {
      const header = req.headers['stripe-signature'];
      if (typeof header !== 'string' || header.trim() === '') {
        sendJson(res, 400, { error: 'Missing Stripe-Signature header' });
        return;
      }
      let event: Stripe.Event;
      try {
        event = deps.stripe.webhooks.constructEvent(body, header, deps.webhookSecret);
      } catch (error) {
        log.warn({ reason: (error as Error).message }, 'Stripe webhook rejected');
        sendJson(res, 400, { error: 'Invalid Stripe signature' });
        return;
      }
      if (typeof event?.id !== 'string' || event.id === '' || typeof event.type !== 'string') {
        sendJson(res, 400, { error: 'Not a Stripe event' });
        return;
      }
      const result = await deps.service.handleStripeEvent(deps.orm.em.fork(), event, log);
      sendJson(res, 200, { received: true, duplicate: result.duplicate, outcome: result.outcome });
    },
  };
}
