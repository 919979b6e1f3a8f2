import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema, createLogger } from '../../kit/src';
import { DevPaymentProvider } from './payment/dev.provider';
import { Order } from './payment/order.type';
import { createPaymentMetrics } from './payment/payment.metrics';
import { paymentReferences } from './payment/payment.reference';
import { OrderPaymentResolver, PaymentResolver } from './payment/payment.resolver';
import { PaymentService } from './payment/payment.service';

/** The payments subgraph's schema. Without a service (printing SDL) it gets one on the development provider. */
export async function buildPaymentsSchema(service?: PaymentService): Promise<GraphQLSchema> {
  const payments =
    service ?? new PaymentService({ provider: new DevPaymentProvider(), metrics: createPaymentMetrics(), log: createLogger('payments', 'silent') });
  const instances = new Map<Function, unknown>([
    [PaymentResolver, new PaymentResolver(payments)],
    [OrderPaymentResolver, new OrderPaymentResolver(payments)],
  ]);
  return buildFederatedSchema(
    {
      resolvers: [PaymentResolver, OrderPaymentResolver],
      orphanedTypes: [Order],
      container: {
        get: (type: new () => unknown) => {
          const instance = instances.get(type);
          if (!instance) throw new Error(`payments schema has no instance for ${type.name}`);
          return instance;
        },
      },
    },
    paymentReferences(payments),
  );
}
