import { RefundStatus } from './payment-status';
import { ProviderRejectedError, type CancelAttempt, type CreatePaymentInput, type CreateRefundInput, type PaymentAttempt, type PaymentProvider, type RefundAttempt } from './payment.provider';

/** Payment methods the development provider understands; anything else succeeds. */
export const DEV_DECLINE = 'dev-decline';
export const DEV_ERROR = 'dev-error';

/**
 * The provider used when no Stripe key is configured: payments settle at once, so the whole
 * saga runs offline. `dev-decline` declines the card, `dev-error` fails like a provider outage
 * that will not heal (the payment fails rather than being retried forever).
 */
export class DevPaymentProvider implements PaymentProvider {
  readonly name = 'dev' as const;

  async createPayment(input: CreatePaymentInput): Promise<PaymentAttempt> {
    if (input.paymentMethod === DEV_DECLINE) {
      return { outcome: 'failed', reason: 'card_declined', message: 'Your card was declined (development provider).', providerPaymentId: `dev_pi_${input.paymentId}` };
    }
    if (input.paymentMethod === DEV_ERROR) {
      throw new ProviderRejectedError('provider_error', 'The development provider failed on request (dev-error).');
    }
    return { outcome: 'succeeded', providerPaymentId: `dev_pi_${input.paymentId}` };
  }

  async createRefund(input: CreateRefundInput): Promise<RefundAttempt> {
    return { providerRefundId: `dev_re_${input.refundId}`, status: RefundStatus.SUCCEEDED, failureReason: null };
  }

  /** Development payments settle or fail at once: there is never anything left to stop. */
  async cancelPayment(): Promise<CancelAttempt> {
    return { outcome: 'canceled' };
  }

  async listRefunds(): Promise<[]> {
    return [];
  }
}
