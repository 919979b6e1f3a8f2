import { createPubSub } from '@graphql-yoga/subscription';
import type { GraphQLSchema } from 'graphql';
import type { PubSub } from 'type-graphql';
import { buildFederatedSchema } from '../../kit/src';
import { CartResolver } from './cart/cart.resolver';
import { CartService } from './cart/cart.service';
import { DEFAULT_CART_MAX_LINES, DEFAULT_CURRENCY, DEFAULT_ORDERS_MAX_PAGE } from './config';
import type { SagaMetrics } from './order/order.metrics';
import { orderReferences } from './order/order.reference';
import { bindOrderUpdates, OrderResolver } from './order/order.resolver';
import { OrderService } from './order/order.service';
import { OrderUpdates, type OrderUpdatesPubSub } from './order/order.updates';
import { Product } from './product/product.type';
import { OrderReturnsResolver, ReturnResolver } from './return/return.resolver';
import { ReturnService } from './return/return.service';
import { userReferences } from './user/user.reference';
import { UserOrdersResolver } from './user/user.resolver';

export interface OrdersSchemaOptions {
  defaultCurrency: string;
  cartMaxLines: number;
  ordersMaxPage: number;
  /** Saga figures counted by customer cancellations (the event handlers count the rest). */
  metrics?: SagaMetrics;
  /** Publishes committed status changes and serves `orderUpdated` (Redis-backed in a server); in-memory when only printing SDL. */
  updates?: OrderUpdates;
}

/** The orders subgraph's schema; options come from the config (defaults when printing SDL). */
export async function buildOrdersSchema(options: Partial<OrdersSchemaOptions> = {}): Promise<GraphQLSchema> {
  const carts = new CartService({
    defaultCurrency: options.defaultCurrency ?? DEFAULT_CURRENCY,
    cartMaxLines: options.cartMaxLines ?? DEFAULT_CART_MAX_LINES,
  });
  const updates = options.updates ?? new OrderUpdates(createPubSub() as unknown as OrderUpdatesPubSub);
  const orders = new OrderService({ ordersMaxPage: options.ordersMaxPage ?? DEFAULT_ORDERS_MAX_PAGE, metrics: options.metrics, updates });
  const returns = new ReturnService();
  const instances = new Map<Function, unknown>([
    [CartResolver, new CartResolver(carts)],
    [OrderResolver, new OrderResolver(orders)],
    [UserOrdersResolver, new UserOrdersResolver(orders, carts)],
    [ReturnResolver, new ReturnResolver(returns, orders)],
    [OrderReturnsResolver, new OrderReturnsResolver(returns)],
  ]);
  const schema = await buildFederatedSchema(
    {
      resolvers: [CartResolver, OrderResolver, UserOrdersResolver, ReturnResolver, OrderReturnsResolver],
      orphanedTypes: [Product],
      pubSub: updates.pubsub as unknown as PubSub,
      container: {
        get: (type: new () => unknown) => {
          const instance = instances.get(type);
          if (!instance) throw new Error(`orders schema has no instance for ${type.name}`);
          return instance;
        },
      },
    },
    { ...orderReferences(orders), ...userReferences },
  );
  bindOrderUpdates(schema, updates);
  return schema;
}
