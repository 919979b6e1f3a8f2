import { Repeater } from '@graphql-yoga/subscription';
import type { Logger } from 'pino';
import { notFound, type RequestContext, requireUuid, requireViewer } from '../../../kit/src';
import { TradeOrderEntity } from './trade-order.entity';
import type { TradeOrderStatus } from './trade-order.model';

/**
 * `Subscription.tradeOrderUpdated`: every committed change of a user's trade orders is published
 * on that user's topic (one Redis channel per user, so any replica serves any subscriber). The
 * message names the order; the resolver loads it fresh, so clients see committed state.
 */

export const tradeOrdersTopic = (userId: string): string => `trade-orders:${userId}`;

export interface TradeOrderUpdateMessage {
  orderId: string;
  /** The status the change left; null for the snapshot a subscriber to one order gets first. */
  status: TradeOrderStatus | null;
}

export interface TradeOrderUpdatesPubSub {
  publish(topic: string, payload: unknown): void;
  subscribe(topic: string): AsyncIterable<unknown>;
  whenSubscribed?(topic: string): Promise<void>;
}

export class TradeOrderUpdates {
  constructor(
    readonly pubsub: TradeOrderUpdatesPubSub,
    private readonly log?: Logger,
  ) {}

  /** Publishes committed changes (fire-and-forget: never throws). */
  publish(orders: readonly { id: string; userId: string; status: TradeOrderStatus }[]): void {
    for (const order of orders) {
      try {
        this.pubsub.publish(tradeOrdersTopic(order.userId), { orderId: order.id, status: order.status } satisfies TradeOrderUpdateMessage);
      } catch (error) {
        this.log?.warn({ err: error, orderId: order.id }, 'trade order update not published');
      }
    }
  }

  /**
   * The viewer's order updates: all of them, or one order's (a snapshot first, then its changes).
   * UNAUTHENTICATED when signed out; NOT_FOUND for an order that is not the viewer's.
   */
  async stream(ctx: RequestContext, rawOrderId: string | null | undefined): Promise<AsyncIterableIterator<TradeOrderUpdateMessage>> {
    const viewer = requireViewer(ctx.viewer);
    const orderId = rawOrderId === null || rawOrderId === undefined ? null : requireUuid(rawOrderId, 'orderId');
    if (orderId) {
      const order = await ctx.em.fork().findOne(TradeOrderEntity, { id: orderId }, { fields: ['id', 'userId'] });
      if (!order || order.userId !== viewer.id) throw notFound('TradeOrder', orderId);
    }
    return this.follow(viewer.id, orderId);
  }

  private follow(userId: string, orderId: string | null): AsyncIterableIterator<TradeOrderUpdateMessage> {
    const topic = tradeOrdersTopic(userId);
    const { pubsub } = this;
    return new Repeater<TradeOrderUpdateMessage>(async (push, stop) => {
      const source = pubsub.subscribe(topic)[Symbol.asyncIterator]();
      let stopped = false;
      void stop.then(() => {
        stopped = true;
        void source.return?.();
      });
      let pending = source.next();
      pending.catch(() => undefined);
      await Promise.race([pubsub.whenSubscribed?.(topic), stop]);
      if (stopped) return;
      if (orderId) await push({ orderId, status: null });
      for (;;) {
        const result = await pending;
        if (result.done || stopped) break;
        const message = result.value as TradeOrderUpdateMessage;
        if (!orderId || message.orderId === orderId) await push(message);
        pending = source.next();
      }
      stop();
    });
  }
}
