import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for api.stripe.com speaking the subset of Stripe's REST API the payments
 * subgraph uses, so tests run the real stripe SDK over real HTTP:
 *
 *   POST /v1/payment_intents      form-encoded, Idempotency-Key honoured (same key and params: the
 *                                 stored response again with `Idempotent-Replayed: true`; same key,
 *                                 other params: 400 idempotency_error)
 *   GET  /v1/payment_intents/:id
 *   POST /v1/payment_intents/:id/cancel   like Stripe: an intent still waiting for the customer (or
 *                                 processing) becomes `canceled`; a succeeded or canceled one is
 *                                 refused with 400 `payment_intent_unexpected_state` (the intent in
 *                                 the error)
 *   POST /v1/refunds              against a succeeded intent (see `succeedIntent`) or any intent
 *   GET  /v1/refunds?payment_intent=pi_…
 *
 * A PaymentIntent whose amount is `FAKE_DECLINE_AMOUNT` or whose `metadata[orderId]` starts with
 * `decline` is refused with 402 `card_error`/`card_declined`, like a confirmation with
 * `pm_card_chargeDeclined`. `failNext` answers the next requests with a status (500 by default)
 * or never answers them (`hang`, for client timeouts); `holdNext` answers the next one only when
 * the test releases it. Every request is recorded.
 */

export const FAKE_DECLINE_AMOUNT = 402;

export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  authorization: string | null;
  stripeVersion: string | null;
  params: Record<string, unknown>;
  /** What the fake answered: a status, or `hang`. */
  answered: number | 'hang';
}

export interface FakeFailure {
  /** e.g. `POST /v1/payment_intents`; any request when omitted. */
  route?: string;
  /** HTTP status to answer (default 500), or `hang` to never answer. */
  status?: number | 'hang';
  /** How many requests to fail (default 1). */
  times?: number;
}

interface StoredResponse {
  status: number;
  body: unknown;
  paramsHash: string;
}

export interface FakePaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_received: number;
  currency: string;
  status: string;
  client_secret: string;
  metadata: Record<string, string>;
  automatic_payment_methods: { enabled: boolean } | null;
  latest_charge: string | null;
  last_payment_error: null;
  canceled_at: number | null;
  cancellation_reason: string | null;
  livemode: false;
  created: number;
  capture_method: string;
  confirmation_method: string;
  payment_method_types: string[];
}

export interface FakeRefund {
  id: string;
  object: 'refund';
  amount: number;
  currency: string;
  charge: string | null;
  payment_intent: string;
  status: string;
  reason: string | null;
  failure_reason?: string | null;
  metadata: Record<string, string>;
  created: number;
  balance_transaction: string | null;
}

const id = (prefix: string) => `${prefix}_fake${randomBytes(9).toString('hex')}`;
const now = () => Math.floor(Date.now() / 1000);

/** The statuses Stripe lets `POST /v1/payment_intents/:id/cancel` cancel. */
export const CANCELABLE_INTENT_STATUSES = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing'];

/** Decodes the SDK's form bodies (`metadata[orderId]=…&automatic_payment_methods[enabled]=true`) into objects. */
export function decodeStripeForm(text: string): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const path = rawKey.split(/[[\]]+/).filter((part) => part !== '');
    let target = result;
    path.forEach((part, index) => {
      if (index === path.length - 1) {
        target[part] = value;
        return;
      }
      target[part] = (target[part] as Record<string, unknown> | undefined) ?? {};
      target = target[part] as Record<string, unknown>;
    });
  }
  return result;
}

const stripeError = (status: number, type: string, message: string, extra: Record<string, unknown> = {}) => ({ status, body: { error: { type, message, ...extra } } });

export class FakeStripe {
  readonly requests: RecordedRequest[] = [];
  readonly intents = new Map<string, FakePaymentIntent>();
  readonly refunds = new Map<string, FakeRefund>();
  private readonly idempotent = new Map<string, StoredResponse>();
  private readonly failures: Required<FakeFailure>[] = [];
  private readonly holds: { route: string; arrived: () => void; released: Promise<void> }[] = [];
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  private port = 0;

  private constructor(readonly secretKey: string) {}

  /** Starts on a free port; give `apiBase` to the payments config as STRIPE_API_BASE. */
  static async start(secretKey = 'sk_test_fake'): Promise<FakeStripe> {
    const fake = new FakeStripe(secretKey);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  get apiBase(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Makes the next matching requests fail (500 by default) or hang. */
  failNext(failure: FakeFailure = {}): void {
    this.failures.push({ route: failure.route ?? '*', status: failure.status ?? 500, times: failure.times ?? 1 });
  }

  /** Holds the next request to `route` until `release()`; `arrived` resolves once it is held. */
  holdNext(route: string): { arrived: Promise<void>; release(): void } {
    let arrived!: () => void;
    let release!: () => void;
    const arrival = new Promise<void>((resolve) => (arrived = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.holds.push({ route, arrived, released });
    return { arrived: arrival, release };
  }

  requestsTo(route: string): RecordedRequest[] {
    const [method, path] = route.split(' ');
    return this.requests.filter((request) => request.method === method && request.path === path);
  }

  /** What happens when the customer confirms in the browser: the intent succeeds with a charge. */
  succeedIntent(intentId: string): FakePaymentIntent {
    const intent = this.intents.get(intentId);
    if (!intent) throw new Error(`fake Stripe has no PaymentIntent ${intentId}`);
    if (intent.status === 'canceled') throw new Error(`fake Stripe: PaymentIntent ${intentId} is canceled and can no longer succeed`);
    intent.status = 'succeeded';
    intent.amount_received = intent.amount;
    intent.latest_charge = intent.latest_charge ?? id('ch');
    return { ...intent };
  }

  /** What Stripe does to a refund later (e.g. the card was closed): its new status, seen by later API calls. */
  settleRefund(refundId: string, status: 'succeeded' | 'failed' | 'canceled', failureReason: string | null = null): FakeRefund {
    const refund = this.refunds.get(refundId);
    if (!refund) throw new Error(`fake Stripe has no refund ${refundId}`);
    refund.status = status;
    refund.failure_reason = failureReason;
    return { ...refund };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake-stripe');
    const method = req.method ?? 'GET';
    const params = method === 'GET' ? Object.fromEntries(url.searchParams) : decodeStripeForm(Buffer.concat(chunks).toString('utf8'));
    const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : null);
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      idempotencyKey: header('idempotency-key'),
      authorization: header('authorization'),
      stripeVersion: header('stripe-version'),
      params,
      answered: 200,
    };
    this.requests.push(record);

    const route = `${method} ${url.pathname}`;
    const hold = this.holds.find((candidate) => candidate.route === route);
    if (hold) {
      this.holds.splice(this.holds.indexOf(hold), 1);
      hold.arrived();
      await hold.released;
    }
    const failure = this.failures.find((candidate) => candidate.route === '*' || candidate.route === route);
    if (failure) {
      failure.times -= 1;
      if (failure.times <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
      record.answered = failure.status;
      if (failure.status === 'hang') return; // never answered; closed by close()
      this.send(res, failure.status, { error: { type: 'api_error', message: 'Fake Stripe was told to fail this request.' } });
      return;
    }

    if (record.authorization !== `Bearer ${this.secretKey}`) {
      record.answered = 401;
      this.send(res, 401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided.' } });
      return;
    }

    // Idempotency: Stripe stores the first result of a POST per key (not 5xx) and replays it.
    const key = method === 'POST' ? record.idempotencyKey : null;
    const paramsHash = createHash('sha256').update(`${route} ${JSON.stringify(params)}`).digest('hex');
    if (key) {
      const stored = this.idempotent.get(key);
      if (stored) {
        if (stored.paramsHash !== paramsHash) {
          const error = stripeError(400, 'idempotency_error', `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`);
          record.answered = error.status;
          this.send(res, error.status, error.body, { 'idempotency-key': key });
          return;
        }
        record.answered = stored.status;
        this.send(res, stored.status, stored.body, { 'idempotency-key': key, 'idempotent-replayed': 'true' });
        return;
      }
    }

    const { status, body } = this.route(method, url, params);
    if (key && status < 500) this.idempotent.set(key, { status, body, paramsHash });
    record.answered = status;
    this.send(res, status, body, key ? { 'idempotency-key': key } : {});
  }

  private route(method: string, url: URL, params: Record<string, unknown>): { status: number; body: unknown } {
    const path = url.pathname;
    if (method === 'POST' && path === '/v1/payment_intents') return this.createIntent(params);
    const intentMatch = /^\/v1\/payment_intents\/([^/]+)$/.exec(path);
    if (method === 'GET' && intentMatch) {
      const intent = this.intents.get(intentMatch[1]!);
      return intent ? { status: 200, body: intent } : this.missing('payment_intent', intentMatch[1]!);
    }
    const cancelMatch = /^\/v1\/payment_intents\/([^/]+)\/cancel$/.exec(path);
    if (method === 'POST' && cancelMatch) return this.cancelIntent(cancelMatch[1]!, params);
    if (method === 'POST' && path === '/v1/refunds') return this.createRefund(params);
    if (method === 'GET' && path === '/v1/refunds') {
      const intentId = url.searchParams.get('payment_intent');
      const data = [...this.refunds.values()].filter((refund) => !intentId || refund.payment_intent === intentId).reverse();
      return { status: 200, body: { object: 'list', data, has_more: false, url: '/v1/refunds' } };
    }
    return stripeError(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`);
  }

  private createIntent(params: Record<string, unknown>): { status: number; body: unknown } {
    const amount = Number(params.amount);
    const currency = String(params.currency ?? '');
    if (!Number.isInteger(amount) || amount < 1) return stripeError(400, 'invalid_request_error', 'Invalid integer: amount', { param: 'amount', code: 'parameter_invalid_integer' });
    if (!/^[a-z]{3}$/.test(currency)) return stripeError(400, 'invalid_request_error', `Invalid currency: ${currency}`, { param: 'currency', code: 'parameter_invalid_string' });
    const metadata = (params.metadata ?? {}) as Record<string, string>;
    const intent: FakePaymentIntent = {
      id: id('pi'),
      object: 'payment_intent',
      amount,
      amount_received: 0,
      currency,
      status: 'requires_payment_method',
      client_secret: '',
      metadata,
      automatic_payment_methods: (params.automatic_payment_methods as { enabled: string } | undefined) ? { enabled: true } : null,
      latest_charge: null,
      last_payment_error: null,
      canceled_at: null,
      cancellation_reason: null,
      livemode: false,
      created: now(),
      capture_method: 'automatic',
      confirmation_method: 'automatic',
      payment_method_types: ['card'],
    };
    intent.client_secret = `${intent.id}_secret_${randomBytes(12).toString('hex')}`;
    if (amount === FAKE_DECLINE_AMOUNT || String(metadata.orderId ?? '').startsWith('decline')) {
      intent.status = 'requires_payment_method';
      this.intents.set(intent.id, intent);
      return stripeError(402, 'card_error', 'Your card was declined.', {
        code: 'card_declined',
        decline_code: 'generic_decline',
        charge: id('ch'),
        payment_intent: intent,
        doc_url: 'https://stripe.com/docs/error-codes/card-declined',
      });
    }
    this.intents.set(intent.id, intent);
    return { status: 200, body: intent };
  }

  private cancelIntent(intentId: string, params: Record<string, unknown>): { status: number; body: unknown } {
    const intent = this.intents.get(intentId);
    if (!intent) return this.missing('payment_intent', intentId);
    if (!CANCELABLE_INTENT_STATUSES.includes(intent.status)) {
      return stripeError(
        400,
        'invalid_request_error',
        `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE_INTENT_STATUSES.join(', ')}.`,
        { code: 'payment_intent_unexpected_state', payment_intent: { ...intent } },
      );
    }
    const reason = params.cancellation_reason;
    if (reason !== undefined && !['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'].includes(String(reason))) {
      return stripeError(400, 'invalid_request_error', `Invalid cancellation_reason: ${String(reason)}`, { param: 'cancellation_reason' });
    }
    intent.status = 'canceled';
    intent.canceled_at = now();
    intent.cancellation_reason = reason === undefined ? null : String(reason);
    return { status: 200, body: { ...intent } };
  }

  private createRefund(params: Record<string, unknown>): { status: number; body: unknown } {
    const intentId = String(params.payment_intent ?? '');
    const intent = this.intents.get(intentId);
    if (!intent) return this.missing('payment_intent', intentId);
    const refunded = [...this.refunds.values()].filter((refund) => refund.payment_intent === intentId && refund.status !== 'failed').reduce((sum, refund) => sum + refund.amount, 0);
    const amount = params.amount === undefined ? intent.amount - refunded : Number(params.amount);
    if (!Number.isInteger(amount) || amount < 1) return stripeError(400, 'invalid_request_error', 'Invalid integer: amount', { param: 'amount' });
    if (refunded + amount > intent.amount) {
      return stripeError(400, 'invalid_request_error', `Refund amount (${amount}) is greater than unrefunded amount on charge (${intent.amount - refunded})`, { code: 'amount_too_large', param: 'amount' });
    }
    const refund: FakeRefund = {
      id: id('re'),
      object: 'refund',
      amount,
      currency: intent.currency,
      charge: intent.latest_charge,
      payment_intent: intentId,
      status: 'succeeded',
      reason: typeof params.reason === 'string' ? params.reason : null,
      metadata: (params.metadata ?? {}) as Record<string, string>,
      created: now(),
      balance_transaction: id('txn'),
    };
    this.refunds.set(refund.id, refund);
    return { status: 200, body: refund };
  }

  private missing(kind: string, missingId: string) {
    return stripeError(404, 'invalid_request_error', `No such ${kind}: '${missingId}'`, { code: 'resource_missing', param: 'id' });
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'request-id': `req_fake${randomBytes(6).toString('hex')}`,
      'stripe-version': '2026-09-30.endive',
      ...headers,
    });
    res.end(text);
  }
}
