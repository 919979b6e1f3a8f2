import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { outboxInsertSql } from '../../../kit/src';
import type { RedisPubSub } from '../../../kit/src/pubsub';
import { SIGNAL_RESOLVED, SIGNALS_EVENT_SOURCE, type SignalResolvedData } from '../signal/signal.outbox';
import type { SignalUpdates } from '../signal/signal.updates';
import { judge, watchOf, type Outcome, type Watch } from './levels';

/** trading publishes every tick of a symbol here (same PUBSUB_PREFIX): `{ symbol, lastPrice, updatedAt, … }`. */
export const priceTopic = (symbol: string): string => `price:${symbol}`;
/** Replicas tell each other about signals to start or stop watching (each watches every open signal). */
export const WATCH_TOPIC = 'signal-watch';

type WatchMessage = { add: Watch } | { remove: { id: string; symbol: string } };

/** A signal as ingest and `markSignalResult` hand it to the watchers. */
type WatchedSignal = { id: string; userId: string; symbol: string | null; action: string; price: string | null; takeProfit: string | null; stopLoss: string | null };

/** Where ingest and `markSignalResult` say which signals to judge: an OutcomeWatcher, or a WatchAnnouncer. */
export interface SignalWatchList {
  watchSignal(signal: WatchedSignal): void;
  forget(id: string, symbol: string | null): void;
}

/**
 * The watch list of a process that judges nothing itself (`--api-only`): it only tells the
 * watchers of the worker processes, through pub/sub.
 */
export class WatchAnnouncer implements SignalWatchList {
  constructor(private readonly pubsub: Pick<RedisPubSub, 'publish'>) {}

  watchSignal(signal: WatchedSignal): void {
    const watch = watchOf(signal);
    if (watch) this.pubsub.publish(WATCH_TOPIC, { add: watch } satisfies WatchMessage);
  }

  forget(id: string, symbol: string | null): void {
    if (symbol) this.pubsub.publish(WATCH_TOPIC, { remove: { id, symbol } } satisfies WatchMessage);
  }
}

export interface OutcomeWatcherOptions {
  orm: MikroORM;
  pubsub: Pick<RedisPubSub, 'publish' | 'subscribe' | 'whenSubscribed'>;
  updates: SignalUpdates;
  log: Logger;
  /** Told when a SignalResolved is committed (written in one statement, which no ORM commit hook sees). */
  eventsCommitted?: () => void;
}

interface SymbolFeed {
  watches: Map<string, Watch>;
  stop(): Promise<void>;
}

/**
 * Judges open BUY and SELL signals that have an entry, a take-profit and a stop-loss against
 * trading's price ticks: the first tick at or beyond a level resolves the signal (WIN or LOSS, with
 * the exit price and profit), records SignalResolved in the same statement and publishes
 * `signalUpdated`. Every replica watches every open signal; the update only applies to a signal
 * still PENDING, so the first replica to judge it wins and the others change nothing.
 */
export class OutcomeWatcher implements SignalWatchList {
  private readonly feeds = new Map<string, SymbolFeed>();
  private control: { return(): Promise<unknown> } | null = null;
  private closed = false;
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: OutcomeWatcherOptions) {}

  /** Loads every open signal it can judge and follows the other replicas' changes. */
  async start(): Promise<void> {
    const control = this.options.pubsub.subscribe(WATCH_TOPIC);
    this.control = control;
    this.track(
      (async () => {
        for await (const message of control as AsyncIterable<WatchMessage>) {
          if ('add' in message) this.add(message.add);
          else this.remove(message.remove.id, message.remove.symbol);
        }
      })(),
    );
    await this.options.pubsub.whenSubscribed(WATCH_TOPIC);
    const rows = await this.options.orm.em.fork().getConnection().execute<
      { id: string; user_id: string; symbol: string; action: string; price: string; take_profit: string; stop_loss: string }[]
    >(
      `select "id", "user_id", "symbol", "action", "price"::text, "take_profit"::text, "stop_loss"::text from "signal"
        where "result" = 'PENDING' and "price" is not null and "take_profit" is not null and "stop_loss" is not null and "action" in ('BUY', 'SELL')`,
    );
    for (const row of rows) {
      const watch = watchOf({ id: row.id, userId: row.user_id, symbol: row.symbol, action: row.action, price: row.price, takeProfit: row.take_profit, stopLoss: row.stop_loss });
      if (watch) this.add(watch);
    }
  }

  /** Starts judging a signal (here at once, on the other replicas through pub/sub); ignored when it cannot be judged. */
  watchSignal(signal: WatchedSignal): void {
    const watch = watchOf(signal);
    if (!watch) return;
    this.add(watch);
    this.options.pubsub.publish(WATCH_TOPIC, { add: watch } satisfies WatchMessage);
  }

  /** Stops judging a signal that was resolved by hand. */
  forget(id: string, symbol: string | null): void {
    if (!symbol) return;
    this.remove(id, symbol);
    this.options.pubsub.publish(WATCH_TOPIC, { remove: { id, symbol } } satisfies WatchMessage);
  }

  /** The open signals judged on `symbol` (tests and metrics). */
  watching(symbol: string): number {
    return this.feeds.get(symbol)?.watches.size ?? 0;
  }

  /** Resolves once ticks of `symbol` reach this watcher. */
  whenListening(symbol: string): Promise<void> {
    return this.options.pubsub.whenSubscribed(priceTopic(symbol));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.control?.return();
    await Promise.all([...this.feeds.values()].map((feed) => feed.stop()));
    this.feeds.clear();
    await Promise.all([...this.running]);
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => this.options.log.error({ err: error }, 'outcome watcher stopped reading'));
    this.running.add(tracked);
    void tracked.finally(() => this.running.delete(tracked));
  }

  private add(watch: Watch): void {
    if (this.closed) return;
    let feed = this.feeds.get(watch.symbol);
    if (!feed) {
      feed = this.follow(watch.symbol);
      this.feeds.set(watch.symbol, feed);
    }
    feed.watches.set(watch.id, watch);
  }

  private remove(id: string, symbol: string): void {
    const feed = this.feeds.get(symbol);
    if (!feed) return;
    feed.watches.delete(id);
    if (feed.watches.size === 0) {
      this.feeds.delete(symbol);
      void feed.stop();
    }
  }

  private follow(symbol: string): SymbolFeed {
    const ticks = this.options.pubsub.subscribe(priceTopic(symbol));
    const watches = new Map<string, Watch>();
    this.track(
      (async () => {
        for await (const tick of ticks as AsyncIterable<{ lastPrice?: unknown }>) {
          if (typeof tick?.lastPrice !== 'string' || !/^\d+(\.\d+)?$/.test(tick.lastPrice)) continue;
          for (const watch of [...watches.values()]) {
            if (!watches.has(watch.id)) continue;
            const outcome = judge(watch, tick.lastPrice);
            if (outcome) await this.resolve(watch, outcome);
          }
        }
      })(),
    );
    return { watches, stop: async () => void (await ticks.return()) };
  }

  private async resolve(watch: Watch, outcome: Outcome): Promise<void> {
    this.remove(watch.id, watch.symbol);
    const resolvedAt = new Date();
    const data: SignalResolvedData = {
      signalId: watch.id,
      userId: watch.userId,
      result: outcome.result,
      exitPrice: outcome.exitPrice,
      profitLoss: outcome.profitLoss,
      manual: false,
      resolvedAt: resolvedAt.toISOString(),
    };
    const outbox = outboxInsertSql(SIGNALS_EVENT_SOURCE, [{ type: SIGNAL_RESOLVED, subject: watch.id, data, occurredAt: resolvedAt }], 'u');
    try {
      const rows = await this.options.orm.em.fork().getConnection().execute<{ n: number }[]>(
        `with "u" as (update "signal" set "result" = ?, "exit_price" = ?::numeric, "profit_loss" = ?::numeric, "resolved_at" = ?
                       where "id" = ? and "result" = 'PENDING' returning "id"),
              "e" as (${outbox.sql})
         select count(*)::int as "n" from "u"`,
        [outcome.result, outcome.exitPrice, outcome.profitLoss, resolvedAt, watch.id, ...outbox.params],
      );
      if ((rows[0]?.n ?? 0) === 0) return;
      this.options.eventsCommitted?.();
      this.options.log.info({ signalId: watch.id, ...outcome }, 'signal resolved by the price feed');
      this.options.updates.updated(watch.userId, watch.id);
    } catch (error) {
      // Judge it again on a later tick.
      this.add(watch);
      this.options.log.error({ err: error, signalId: watch.id }, 'could not resolve a signal');
    }
  }
}
