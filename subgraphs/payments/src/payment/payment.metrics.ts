import { Counter, type Registry } from 'prom-client';

export interface PaymentMetrics {
  /** Payments by provider and outcome (succeeded, failed, requires_action, plus webhook-decided ones). */
  payments: Counter<'provider' | 'outcome'>;
  refunds: Counter<'provider' | 'outcome'>;
  /** Verified Stripe webhooks by type and outcome (applied, stale, unmatched, ignored, duplicate). */
  webhooks: Counter<'type' | 'outcome'>;
}

/** Counters registered nowhere yet; `registerPaymentMetrics` puts them on a server's registry. */
export function createPaymentMetrics(): PaymentMetrics {
  return {
    payments: new Counter({ name: 'payments_total', help: 'Payments by provider and outcome', labelNames: ['provider', 'outcome'], registers: [] }),
    refunds: new Counter({ name: 'payment_refunds_total', help: 'Refunds by provider and outcome', labelNames: ['provider', 'outcome'], registers: [] }),
    webhooks: new Counter({ name: 'stripe_webhooks_total', help: 'Verified Stripe webhooks by event type and outcome', labelNames: ['type', 'outcome'], registers: [] }),
  };
}

export function registerPaymentMetrics(metrics: PaymentMetrics, registry: Registry): void {
  registry.registerMetric(metrics.payments);
  registry.registerMetric(metrics.refunds);
  registry.registerMetric(metrics.webhooks);
}
