import { Repeater } from '@graphql-yoga/subscription';
import type { Logger } from 'pino';
import { requireViewer, type EntityManager, type RequestContext } from '../../../kit/src';
import type { EventHandlerHooks } from '../../../kit/src/events';
import { HoldingEntity } from '../holding/holding.entity';
import type { PriceBook, PriceQuote } from '../price/price-book';
import { portfolioIdOf } from '../shared/ids';
import { Throttle, type Clock } from './throttle';

/**
 * `Subscription.portfolioUpdated`. A fill that changed a portfolio is announced on its owner's
 * topic (`portfolio:<userId>`, Redis pub/sub, after the commit) by whichever replica applied it.
 * Price ticks are not re-published per user (every replica hears every tick, and most holders are
 * not listening): each subscription follows the ticks of the symbols its user holds itself. Both
 * only mark the portfolio changed; a throttle delivers at most one update per interval, the last
 * one at the end of it, and the resolver values the portfolio afresh each time.
 */

/** The pub/sub topic of one user's portfolio changes. */
export const portfolioTopic = (userId: string): string => `portfolio:${userId}`;

/** What travels on a user's topic, and what the stream yields. */
export interface PortfolioUpdateMessage {
  userId: string;
  /** The user was erased: their streams end (their access token outlives the account by minutes). */
  erased?: true;
}

/** What PortfolioUpdates needs of a pub/sub: the kit's RedisPubSub, or an in-memory one when printing SDL. */
export interface PortfolioUpdatesPubSub {
  publish(topic: string, payload: unknown): void;
  subscribe(topic: string): AsyncIterable<unknown>;
  whenSubscribed?(topic: string): Promise<void>;
}

export interface PortfolioUpdatesOptions {
  /** Also what type-graphql's `buildSchema({ pubSub })` gets. */
  pubsub: PortfolioUpdatesPubSub;
  prices: PriceBook;
  throttleMs: number;
  log?: Logger;
  clock?: Clock;
}

export class PortfolioUpdates {
  readonly pubsub: PortfolioUpdatesPubSub;

  constructor(private readonly options: PortfolioUpdatesOptions) {
    this.pubsub = options.pubsub;
  }

  /** Announces a committed change of `userId`'s portfolio, or their erasure (fire-and-forget: never throws). */
  publish(userId: string, options: { erased?: true } = {}): void {
    const message: PortfolioUpdateMessage = { userId, ...options };
    try {
      this.pubsub.publish(portfolioTopic(userId), message);
    } catch (error) {
      this.options.log?.warn({ err: error, userId }, 'portfolio update not published');
    }
  }

  /** Announces the change once the event handler's transaction committed (as orders' updates do). */
  publishAfterCommit(em: EntityManager, hooks: EventHandlerHooks | undefined, userId: string, options: { erased?: true } = {}): void {
    if (hooks) hooks.afterCommit(async () => this.publish(userId, options));
    else if (!em.isInTransaction()) this.publish(userId, options);
  }

  /**
   * The signed-in user's portfolio changes (UNAUTHENTICATED when signed out): first a snapshot once
   * both the user's topic and their symbols' ticks are followed, then one message per throttle
   * interval while fills or prices change it. It ends when the user is erased.
   */
  stream(ctx: RequestContext): AsyncIterableIterator<PortfolioUpdateMessage> {
    const { id: userId } = requireViewer(ctx.viewer);
    const { pubsub, prices, throttleMs, clock } = this.options;
    const topic = portfolioTopic(userId);
    const portfolioId = portfolioIdOf(userId);
    const heldSymbols = async (): Promise<Set<string>> => {
      const rows = await ctx.em.fork().find(HoldingEntity, { portfolioId, quantity: { $gt: '0' } }, { fields: ['symbol'] });
      return new Set(rows.map((row) => row.symbol));
    };
    return new Repeater<PortfolioUpdateMessage>(async (push, stop) => {
      let stopped = false;
      let symbols = new Set<string>();
      let delivering = false;
      let changedMeanwhile = false;
      const message = { userId };
      // A delivery not yet taken by the client is not stacked: it will show the latest state anyway.
      const deliver = (): void => {
        if (delivering) {
          changedMeanwhile = true;
          return;
        }
        delivering = true;
        push(message).then(
          () => {
            delivering = false;
            if (changedMeanwhile) {
              changedMeanwhile = false;
              throttle.signal();
            }
          },
          () => undefined,
        );
      };
      const throttle = new Throttle(throttleMs, deliver, clock);
      const onPrice = (quote: PriceQuote): void => {
        if (symbols.has(quote.symbol)) throttle.signal();
      };
      const source = pubsub.subscribe(topic)[Symbol.asyncIterator]();
      void stop.then(() => {
        stopped = true;
        throttle.close();
        prices.events.off('price', onPrice);
        void source.return?.();
      });
      const follow = async (): Promise<void> => {
        symbols = await heldSymbols();
        await prices.follow(symbols);
      };
      // The first next() opens the subscription; changes meanwhile wait in the source.
      let pending = source.next();
      pending.catch(() => undefined);
      try {
        await Promise.race([Promise.all([pubsub.whenSubscribed?.(topic), follow()]), stop]);
      } catch (error) {
        stop(error);
        return;
      }
      if (stopped) return;
      prices.events.on('price', onPrice);
      throttle.fired();
      void push(message);
      for (;;) {
        const result = await pending;
        if (result.done || stopped || (result.value as PortfolioUpdateMessage).erased) break;
        // A fill may have opened or closed a position: follow the symbols held now.
        await follow().catch((error: unknown) => this.options.log?.warn({ err: error, userId }, 'reloading held symbols failed; keeping the previous ones'));
        throttle.signal();
        pending = source.next();
      }
      stop();
    });
  }
}
