import { Repeater } from '@graphql-yoga/subscription';
import type { Logger } from 'pino';
import { type EntityManager, forbidden, notFound, type RequestContext, requireUuid, requireViewer } from '../../../kit/src';
import type { EventHandlerHooks } from '../../../kit/src/events';
import type { OrderStatus } from './order-state';
import { OrderEntity } from './order.entity';

/**
 * `Subscription.orderUpdated`: every status change of an order is published on its own pub/sub
 * topic once the transaction that made it has committed. The message names the order (and the
 * status it reached, for logs); the resolver loads the order fresh, so every field a client selects
 * is the committed state at delivery time.
 */

/** The pub/sub topic of one order's updates (one Redis channel per order). */
export const orderTopic = (orderId: string): string => `order:${orderId}`;

/** What travels on an order's topic. */
export interface OrderUpdateMessage {
  orderId: string;
  /** The status the change reached; null for the snapshot a new subscriber gets first. */
  status: OrderStatus | null;
}

/** What OrderUpdates needs of a pub/sub: the kit's RedisPubSub, or an in-memory one when only printing SDL. */
export interface OrderUpdatesPubSub {
  publish(topic: string, payload: unknown): void;
  subscribe(topic: string): AsyncIterable<unknown>;
  /** Resolves once a message published on `topic` from now on reaches this process (the kit's RedisPubSub has it). */
  whenSubscribed?(topic: string): Promise<void>;
}

export class OrderUpdates {
  constructor(
    /** Also what type-graphql's `buildSchema({ pubSub })` gets. */
    readonly pubsub: OrderUpdatesPubSub,
    private readonly log?: Logger,
  ) {}

  /** Publishes a committed status change of `order` (fire-and-forget: never throws). */
  publish(order: { id: string; status: OrderStatus }): void {
    const message: OrderUpdateMessage = { orderId: order.id, status: order.status };
    try {
      this.pubsub.publish(orderTopic(order.id), message);
    } catch (error) {
      this.log?.warn({ err: error, orderId: order.id }, 'order update not published');
    }
  }

  /**
   * Publishes `order`'s status change once the event handler's transaction has committed: through
   * the consumer's `afterCommit` hook, or at once when `em` is no longer in a transaction (the
   * handler ran its own, now committed). A handler run inside a caller's transaction without hooks
   * cannot know when it commits, so nothing is published then.
   */
  publishAfterCommit(em: EntityManager, hooks: EventHandlerHooks | undefined, order: { id: string; status: OrderStatus }): void {
    const changed = { id: order.id, status: order.status };
    if (hooks) hooks.afterCommit(async () => this.publish(changed));
    else if (!em.isInTransaction()) this.publish(changed);
    else this.log?.debug({ orderId: order.id }, 'handler ran without afterCommit; order update not published');
  }

  /**
   * The updates of one order for its owner or an ADMIN: UNAUTHENTICATED for an anonymous caller,
   * BAD_USER_INPUT for a malformed id, NOT_FOUND for an unknown order, FORBIDDEN for anyone else.
   * The first message is a snapshot (the order as it is once the live feed is listening, so nothing
   * falls between the two), then one message per status change, every one in the order published.
   */
  async stream(ctx: RequestContext, rawId: string): Promise<AsyncIterableIterator<OrderUpdateMessage>> {
    const viewer = requireViewer(ctx.viewer);
    const orderId = requireUuid(rawId, 'orderId');
    const order = await ctx.em.fork().findOne(OrderEntity, { id: orderId }, { fields: ['id', 'userId'] });
    if (!order) throw notFound('Order', orderId);
    if (order.userId !== viewer.id && viewer.role !== 'ADMIN') throw forbidden('Only the customer who placed an order, or an ADMIN, follows its updates');
    return this.follow(orderId);
  }

  private follow(orderId: string): AsyncIterableIterator<OrderUpdateMessage> {
    const topic = orderTopic(orderId);
    const { pubsub } = this;
    return new Repeater<OrderUpdateMessage>(async (push, stop) => {
      const source = pubsub.subscribe(topic)[Symbol.asyncIterator]();
      let stopped = false;
      void stop.then(() => {
        stopped = true;
        // Ends a pending source.next() below.
        void source.return?.();
      });
      // The first next() opens the subscription; what arrives meanwhile waits in the source, in order.
      let pending = source.next();
      pending.catch(() => undefined); // rejections are awaited below; not unhandled while subscribing
      await Promise.race([pubsub.whenSubscribed?.(topic), stop]);
      if (stopped) return;
      await push({ orderId, status: null });
      for (;;) {
        const result = await pending;
        if (result.done || stopped) break;
        await push(result.value as OrderUpdateMessage);
        pending = source.next();
      }
      stop();
    });
  }
}
