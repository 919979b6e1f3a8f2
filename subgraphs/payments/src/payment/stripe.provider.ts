import Stripe from 'stripe';
import type { StripeConfig } from '../config';
import { RefundStatus } from './payment-status';
import {
  ProviderRejectedError,
  ProviderUnavailableError,
  type CancelAttempt,
  type CancelPaymentInput,
  type CreatePaymentInput,
  type CreateRefundInput,
  type PaymentAttempt,
  type PaymentProvider,
  type ProviderRefund,
  type RefundAttempt,
} from './payment.provider';

export type StripeClient = InstanceType<typeof Stripe>;

/** The SDK client; `STRIPE_API_BASE` (a local fake in tests) becomes its host/port/protocol options. */
export function createStripeClient(config: StripeConfig): StripeClient {
  return new Stripe(config.secretKey, {
    maxNetworkRetries: config.maxNetworkRetries,
    timeout: config.timeoutMs,
    telemetry: false,
    appInfo: { name: 'mercado-payments' },
    ...(config.apiBase ? { host: config.apiBase.host, port: config.apiBase.port, protocol: config.apiBase.protocol } : {}),
  });
}

/** True for errors that say nothing about the request itself: retrying later may succeed. */
export function isTransientStripeError(error: unknown): boolean {
  const E = Stripe.errors;
  if (error instanceof E.StripeConnectionError || error instanceof E.StripeRateLimitError || error instanceof E.StripeAPIError) return true;
  // Bad credentials are our configuration, not the customer's fault: keep the event for replay once fixed.
  if (error instanceof E.StripeAuthenticationError || error instanceof E.StripePermissionError) return true;
  return error instanceof E.StripeError && (error.statusCode ?? 0) >= 500;
}

function rethrowClassified(error: unknown, what: string): never {
  if (isTransientStripeError(error)) throw new ProviderUnavailableError(`Stripe is unavailable for ${what}: ${(error as Error).message}`, error);
  if (error instanceof Stripe.errors.StripeError) throw new ProviderRejectedError(error.code ?? error.type, error.message);
  throw error;
}

export const toProviderRefund = (refund: Pick<Stripe.Refund, 'id' | 'status' | 'amount' | 'currency' | 'reason' | 'metadata'> & { failure_reason?: string | null }): ProviderRefund => ({
  id: refund.id,
  status: refund.status ?? null,
  amount: typeof refund.amount === 'number' ? refund.amount : null,
  currency: refund.currency ?? null,
  reason: refund.reason ?? null,
  failureReason: refund.failure_reason ?? null,
  metadata: (refund.metadata ?? {}) as Record<string, unknown>,
});

/**
 * Stripe PaymentIntents: a payment is created unconfirmed (REQUIRES_ACTION with the client secret
 * for the customer's browser); whether it succeeds arrives later by webhook. Every POST carries our
 * idempotency key, which the SDK also reuses for its own retries.
 */
export class StripePaymentProvider implements PaymentProvider {
  readonly name = 'stripe' as const;

  constructor(private readonly stripe: StripeClient) {}

  async createPayment(input: CreatePaymentInput): Promise<PaymentAttempt> {
    let intent: Stripe.PaymentIntent;
    try {
      intent = await this.stripe.paymentIntents.create(
        {
          amount: input.amount,
          currency: input.currency.toLowerCase(),
          metadata: { orderId: input.orderId, paymentId: input.paymentId },
          automatic_payment_methods: { enabled: true },
        },
        { idempotencyKey: input.idempotencyKey },
      );
    } catch (error) {
      if (error instanceof Stripe.errors.StripeCardError) {
        return { outcome: 'failed', reason: error.code ?? 'card_declined', message: error.message, providerPaymentId: error.payment_intent?.id ?? null };
      }
      if (isTransientStripeError(error)) throw new ProviderUnavailableError(`Stripe is unavailable for a PaymentIntent: ${(error as Error).message}`, error);
      if (error instanceof Stripe.errors.StripeError) {
        // Invalid request or idempotency mismatch: asking again would get the same answer.
        return { outcome: 'failed', reason: 'provider_error', message: `${error.type}: ${error.message}`, providerPaymentId: null };
      }
      throw error;
    }
    if (intent.status === 'canceled') {
      return { outcome: 'failed', reason: intent.cancellation_reason ?? 'canceled', message: 'PaymentIntent was canceled', providerPaymentId: intent.id };
    }
    // Even `succeeded` is left to the webhook, which is the one place outcomes are applied.
    return { outcome: 'requires_action', providerPaymentId: intent.id, clientSecret: intent.client_secret ?? null };
  }

  async createRefund(input: CreateRefundInput): Promise<RefundAttempt> {
    try {
      const refund = await this.stripe.refunds.create(
        {
          payment_intent: input.providerPaymentId,
          amount: input.amount,
          metadata: { refundId: input.refundId, paymentId: input.paymentId, orderId: input.orderId },
        },
        { idempotencyKey: input.idempotencyKey },
      );
      // A Stripe refund may report `succeeded` now and fail days later; it is final only by webhook.
      return { providerRefundId: refund.id, status: RefundStatus.PENDING, failureReason: null };
    } catch (error) {
      rethrowClassified(error, 'a refund');
    }
  }

  /**
   * Cancels an unfinished PaymentIntent. Stripe refuses once it succeeded or while it is
   * processing (`payment_intent_unexpected_state`): then the outcome arrives by webhook as usual.
   */
  async cancelPayment(input: CancelPaymentInput): Promise<CancelAttempt> {
    try {
      await this.stripe.paymentIntents.cancel(input.providerPaymentId, { cancellation_reason: input.reason }, { idempotencyKey: input.idempotencyKey });
      return { outcome: 'canceled' };
    } catch (error) {
      if (error instanceof Stripe.errors.StripeError && error.code === 'payment_intent_unexpected_state') {
        const providerStatus = error.payment_intent?.status ?? null;
        return providerStatus === 'canceled' ? { outcome: 'canceled' } : { outcome: 'not_cancelable', providerStatus };
      }
      rethrowClassified(error, 'cancelling a PaymentIntent');
    }
  }

  async listRefunds(providerPaymentId: string): Promise<ProviderRefund[]> {
    try {
      const refunds: ProviderRefund[] = [];
      for await (const refund of this.stripe.refunds.list({ payment_intent: providerPaymentId, limit: 100 })) refunds.push(toProviderRefund(refund));
      return refunds;
    } catch (error) {
      rethrowClassified(error, 'listing refunds');
    }
  }
}
