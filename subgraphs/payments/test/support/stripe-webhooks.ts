import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { StripeClient } from '../../src/payment/stripe.provider';

/** Real Stripe event bodies (copied from /work/shared/fixtures/stripe-events; provenance in SOURCES.md). */
export const STRIPE_FIXTURES = path.join(__dirname, '..', 'fixtures', 'stripe-events');

/** The top-level event fixtures (`NN-<type>.json`). */
export const eventFixtureFiles = (): string[] => readdirSync(STRIPE_FIXTURES).filter((name) => name.endsWith('.json')).sort();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** A fresh copy of a fixture, to change ids in. */
export const loadFixture = (relativePath: string): Json => JSON.parse(readFileSync(path.join(STRIPE_FIXTURES, relativePath), 'utf8'));

export const newEventId = (): string => `evt_test${randomBytes(10).toString('hex')}`;

export interface WebhookResponse {
  status: number;
  body: Json;
}

/**
 * Signs a payload the way Stripe does (`stripe.webhooks.generateTestHeaderString`) and POSTs the
 * exact bytes. `signature: null` sends no header; a string sends that header as is.
 */
export async function sendWebhook(
  baseUrl: string,
  stripe: StripeClient,
  secret: string,
  event: Json,
  options: { signature?: string | null; payload?: string } = {},
): Promise<WebhookResponse> {
  const payload = options.payload ?? JSON.stringify(event, null, 2);
  const signature = options.signature === undefined ? stripe.webhooks.generateTestHeaderString({ payload, secret }) : options.signature;
  const response = await fetch(`${baseUrl}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'stripe-signature': signature }) },
    body: payload,
  });
  const text = await response.text();
  let body: Json = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: leave the text for the assertion message
  }
  return { status: response.status, body };
}

/** Fixture 01 (a real `payment_intent.succeeded`) about our intent, with a new event id. */
export function intentSucceededEvent(intent: { id: string; amount: number; currency: string; metadata: Record<string, string> }): Json {
  const event = loadFixture('01-payment_intent.succeeded.json');
  event.id = newEventId();
  event.data.object.id = intent.id;
  event.data.object.client_secret = `${intent.id}_secret_test`;
  event.data.object.amount = intent.amount;
  event.data.object.amount_received = intent.amount;
  event.data.object.currency = intent.currency;
  event.data.object.metadata = { ...intent.metadata };
  return event;
}

/**
 * A `payment_intent.payment_failed` about our intent: fixture 01's envelope and intent, with the
 * decline that fixture 02 (`charge.failed` of a failed confirmation) reports, as Stripe sends both.
 */
export function intentFailedEvent(intent: { id: string; amount: number; currency: string; metadata: Record<string, string> }): Json {
  const event = intentSucceededEvent(intent);
  const charge = loadFixture('02-charge.failed.json').data.object;
  event.type = 'payment_intent.payment_failed';
  Object.assign(event.data.object, {
    status: 'requires_payment_method',
    amount_received: 0,
    latest_charge: charge.id,
    last_payment_error: { type: 'card_error', code: charge.failure_code, decline_code: charge.outcome.reason, message: charge.failure_message, charge: charge.id },
  });
  return event;
}

/** Fixture 03 (a real `charge.refund.updated`, status succeeded → failed) about our refund. */
export function refundUpdatedEvent(refund: { id: string; amount: number; currency: string; payment_intent: string; charge: string | null; metadata: Record<string, string> }, status: 'succeeded' | 'failed'): Json {
  const event = loadFixture('03-charge.refund.updated.json');
  event.id = newEventId();
  Object.assign(event.data.object, {
    id: refund.id,
    amount: refund.amount,
    currency: refund.currency,
    payment_intent: refund.payment_intent,
    charge: refund.charge ?? event.data.object.charge,
    metadata: { ...refund.metadata },
    status,
  });
  if (status === 'succeeded') {
    event.data.object.failure_reason = null;
    event.data.object.failure_balance_transaction = null;
    event.data.previous_attributes = { status: 'pending' };
  }
  return event;
}

/**
 * A `charge.refunded`: the envelope of Stripe's canonical event fixture (05) around the canonical
 * charge object, about our intent. `refunds` embeds the list like API versions before 2022-11-15;
 * without it the handler must ask Stripe for the refunds, like on current versions.
 */
export function chargeRefundedEvent(intent: { id: string; amount: number; currency: string; latest_charge: string | null }, refunded: number, refunds?: Json[]): Json {
  const event = loadFixture('05-openapi-fixtures3-event.plan.created.json');
  const charge = loadFixture('objects/openapi-fixtures3-charge.json');
  event.id = newEventId();
  event.type = 'charge.refunded';
  event.api_version = refunds ? '2020-08-27' : '2026-09-30.endive';
  Object.assign(charge, {
    id: intent.latest_charge ?? charge.id,
    amount: intent.amount,
    amount_captured: intent.amount,
    amount_refunded: refunded,
    captured: true,
    currency: intent.currency,
    payment_intent: intent.id,
    refunded: refunded >= intent.amount,
  });
  if (refunds) charge.refunds = { object: 'list', data: refunds, has_more: false, url: `/v1/charges/${charge.id}/refunds` };
  else delete charge.refunds;
  event.data = { object: charge, previous_attributes: { amount_refunded: 0, refunded: false } };
  return event;
}
