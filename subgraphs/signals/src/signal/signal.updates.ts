import { Repeater } from '@graphql-yoga/subscription';
import type { Logger } from 'pino';
import { notFound, type RequestContext, requireUuid, requireViewer } from '../../../kit/src';
import { SignalEntity } from './signal.entity';

/**
 * `signalReceived` and `signalUpdated`: each committed change is published on its owner's topic (one
 * Redis channel per user and kind), so a subscriber only ever hears about their own signals. The
 * message names the signal; the resolver reads it fresh, so a client sees the committed state.
 */

export const receivedTopic = (userId: string): string => `signal-received:${userId}`;
export const updatedTopic = (userId: string): string => `signal-updated:${userId}`;

export interface SignalMessage {
  signalId: string;
}

/** What SignalUpdates needs of a pub/sub: the kit's RedisPubSub, or an in-memory one when only printing SDL. */
export interface SignalUpdatesPubSub {
  publish(topic: string, payload: unknown): void;
  subscribe(topic: string): AsyncIterable<unknown>;
  /** Resolves once a message published on `topic` from now on reaches this process. */
  whenSubscribed?(topic: string): Promise<void>;
}

export class SignalUpdates {
  constructor(
    /** Also what type-graphql's `buildSchema({ pubSub })` gets. */
    readonly pubsub: SignalUpdatesPubSub,
    private readonly log?: Logger,
  ) {}

  /** A new signal, committed (fire-and-forget: never throws). */
  received(userId: string, signalId: string): void {
    this.send(receivedTopic(userId), signalId);
  }

  /** A committed change of a signal: its screenshot, or its result. */
  updated(userId: string, signalId: string): void {
    this.send(updatedTopic(userId), signalId);
  }

  private send(topic: string, signalId: string): void {
    try {
      this.pubsub.publish(topic, { signalId } satisfies SignalMessage);
    } catch (error) {
      this.log?.warn({ err: error, signalId }, 'signal update not published');
    }
  }

  /** The viewer's new signals from now on; UNAUTHENTICATED when signed out. */
  receivedStream(ctx: RequestContext): AsyncIterableIterator<SignalMessage> {
    const viewer = requireViewer(ctx.viewer);
    return this.follow(receivedTopic(viewer.id), () => true);
  }

  /**
   * Changes of the viewer's signals, or of one of them: NOT_FOUND for an id that is not the viewer's
   * (whether it exists or not), UNAUTHENTICATED when signed out.
   */
  async updatedStream(ctx: RequestContext, rawId: string | null | undefined): Promise<AsyncIterableIterator<SignalMessage>> {
    const viewer = requireViewer(ctx.viewer);
    if (rawId === null || rawId === undefined) return this.follow(updatedTopic(viewer.id), () => true);
    const id = requireUuid(rawId, 'id');
    const owned = await ctx.em.fork().count(SignalEntity, { id, userId: viewer.id });
    if (owned === 0) throw notFound('Signal', id);
    return this.follow(updatedTopic(viewer.id), (message) => message.signalId === id);
  }

  private follow(topic: string, wanted: (message: SignalMessage) => boolean): AsyncIterableIterator<SignalMessage> {
    const { pubsub } = this;
    return new Repeater<SignalMessage>(async (push, stop) => {
      const source = pubsub.subscribe(topic)[Symbol.asyncIterator]();
      let stopped = false;
      void stop.then(() => {
        stopped = true;
        void source.return?.();
      });
      let pending = source.next();
      pending.catch(() => undefined);
      await Promise.race([pubsub.whenSubscribed?.(topic), stop]);
      for (;;) {
        if (stopped) break;
        const result = await pending;
        if (result.done || stopped) break;
        const message = result.value as SignalMessage;
        if (wanted(message)) await push(message);
        pending = source.next();
      }
      stop();
    });
  }
}
