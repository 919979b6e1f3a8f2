import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { Histogram, type Registry } from 'prom-client';
import type { EntityManager, MikroORM } from '../../../kit/src';
import { inSpan, type Tracing } from '../../../kit/src/tracing';
import { InstrumentEntity } from '../market/instrument.entity';
import type { ExchangeAdapters, TradingAdapter } from '../exchange/adapter-pool';
import { ExchangeError, type ExchangeOrder, type NativeOrderType } from '../exchange/exchange-adapter';
import { fillOnPaper, moveReservation, releaseReservation, reserveFor, type PaperAccount } from '../paper/paper-exchange';
import { InsufficientBalanceError } from '../paper/paper-ledger';
import { takerPrice, withSlippage } from '../paper/paper-pricing';
import { Decimal, plain } from '../shared/decimal';
import { paperReservation, triggerSpecOf, type InstrumentInfo, type OrderPlan } from './order-rules';
import { PriceBook } from './price-book';
import { nextIcebergClip, ocoLegs, planTwap } from './slicing';
import { DuplicateClientOrderIdError, TradeChange, type PlacementGuard } from './trade-change';
import { isLive, Liquidity, OcoRole, TradeOrderStatus, TradeOrderType, TradeSide, type TradeOrderRecord } from './trade-order.model';
import { liveOrders, lockOrder, lockOrders, readOrder, recordOfRow, saveTriggerStates } from './trade-order.store';
import type { TradeOrderUpdates } from './trade-order.updates';
import type { TwapScheduler, TwapSliceResult } from './twap.jobs';
import { initialTriggerState, limitIsMarketable, TriggerBook, type TriggerFire, type TriggerSpec, type TriggerState } from './triggers';

/** An account as the engine needs it (terms never change after linking). */
export interface EngineAccount extends PaperAccount {
  userId: string;
  kind: 'paper' | 'ccxt';
  exchangeId: string;
}

export interface EngineTick {
  symbol: string;
  lastPrice: string;
  /** ms since the epoch, when the price was observed. */
  timestamp: number;
}

export interface EngineEvents {
  /** A stop, take-profit or trailing stop triggered: `tickAt` the tick that crossed it, `at` when its transaction committed. */
  triggered: [{ orderId: string; tickAt: number; at: number }];
  /** Orders a committed transaction changed (tests and the bench wait on these). */
  changed: [TradeOrderRecord[]];
}

/** An order a tick fired, with the record this process kept of it (null when it holds none). */
interface Fired {
  orderId: string;
  group: string | null;
  fire: TriggerFire;
  state: TriggerState;
  record: TradeOrderRecord | null;
}

/** Pub/sub that tells every engine of an order to watch (orders placed on a replica whose engine does not watch). */
export interface EngineSync {
  publish(topic: string, payload: unknown): void;
  subscribe(topic: string): AsyncIterable<unknown>;
}

export const ENGINE_SYNC_TOPIC = 'trade-engine:orders';

export interface OrderEngineOptions {
  orm: MikroORM;
  log: Logger;
  updates: TradeOrderUpdates;
  adapters: ExchangeAdapters;
  twap: TwapScheduler;
  sync?: EngineSync;
  /** Milliseconds between two writes of trailing stops' moved state. */
  triggerFlushMs: number;
  /** An exchange order unknown this long after a failed placement is rejected as never received. */
  exchangeTimeoutMs: number;
  /** Each tick that fires orders is the root span of a trace, which their events carry on. */
  tracing?: Tracing;
}

/** Binance allows 36 characters in a client order id: a uuid without dashes plus a short suffix fits. */
export const exchangeClientId = (orderId: string, suffix?: string | number): string => (suffix === undefined ? orderId : `${orderId.replace(/-/g, '')}-${suffix}`);

/** An ICEBERG the exchange cannot take: we send it one visible clip at a time as plain limit orders. */
const isEmulatedIceberg = (order: TradeOrderRecord): boolean => order.type === TradeOrderType.ICEBERG && order.execution === 'emulated';

/**
 * The client order id of an emulated iceberg's current clip: clips fill whole before the next is
 * sent, so it counts the clips filled (base 36, to stay within exchanges' 36 characters).
 */
const icebergClipClientId = (order: TradeOrderRecord): string =>
  exchangeClientId(order.id, new Decimal(order.filledQuantity).div(order.visibleQuantity!).floor().toNumber().toString(36));

const remainingOf = (order: TradeOrderRecord): Decimal => Decimal.max(0, new Decimal(order.quantity).minus(order.filledQuantity));

/** No longer working, with part or all of it filled: what its attached exits protect. */
const isDoneWithFills = (order: TradeOrderRecord): boolean => !isLive(order.status) && !new Decimal(order.filledQuantity).isZero();

/** The limit an order rests at once working as a limit order (LIMIT, ICEBERG, or a triggered STOP_LIMIT / limit TAKE_PROFIT). */
function restingLimit(order: TradeOrderRecord): string | null {
  if (order.type === TradeOrderType.LIMIT || order.type === TradeOrderType.ICEBERG) return order.price;
  if ((order.type === TradeOrderType.STOP_LIMIT || order.type === TradeOrderType.TAKE_PROFIT) && order.triggeredAt !== null) return order.price;
  return null;
}

/**
 * The order engine: places orders on the paper exchange or a real one, watches the market feed for
 * everything emulated (stops, take-profits, trailing stops, OCO legs) and for resting paper limits
 * (LIMIT, ICEBERG clips), runs TWAP slices, cancels.
 *
 * One TriggerBook in memory holds every live order waiting on a price, loaded from the database at
 * start and kept in step after each commit. A price tick fires what it crosses; each fire runs in
 * its own transaction on the locked order row, whose status is checked again there, so an order
 * cancelled meanwhile, or fired by another replica, is not executed twice.
 */
export class OrderEngine extends EventEmitter<EngineEvents> {
  readonly prices = new PriceBook();
  readonly book = new TriggerBook();
  private readonly log: Logger;
  private readonly accounts = new Map<string, EngineAccount>();
  private readonly instruments = new Map<string, InstrumentInfo>();
  /** OCO group of every order in the book, so a fire locks the whole group in id order. */
  private readonly groups = new Map<string, string>();
  /** Every order in the book as this process last wrote or read it, so a tick can fire it without reading it again. */
  private readonly records = new Map<string, TradeOrderRecord>();
  /** Work on one order runs one at a time in this process. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly dirtyStates = new Map<string, TriggerState>();
  private flushTimer: NodeJS.Timeout | null = null;
  private syncStream: AsyncIterator<unknown> | null = null;
  private watching = false;
  private closed = false;
  private triggerLatency: Histogram | null = null;
  /** Work in flight, so close() waits for it. */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly options: OrderEngineOptions) {
    super();
    this.log = options.log.child({ component: 'order-engine' });
  }

  /** Exposes the trigger latency (tick → committed trigger) on the server's /metrics. */
  registerMetrics(registry: Registry): void {
    this.triggerLatency = new Histogram({
      name: 'trading_trigger_latency_seconds',
      help: 'From the price tick that crossed a stop to the committed trigger of its order',
      // Fine around the 20 ms target, so a quantile read from the buckets is close to the real one.
      buckets: [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.0175, 0.02, 0.025, 0.03, 0.04, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    });
  }

  /**
   * Starts watching: loads every live order waiting on a price into the book and listens for
   * orders other replicas place. Without it the engine still places and cancels (workers off).
   */
  async start(): Promise<void> {
    this.watching = true;
    const em = this.options.orm.em.fork();
    for (const order of await liveOrders(em)) {
      // Its account and instrument in memory, so the tick that crosses it fires it without reading them.
      await this.account(em, order.accountId);
      await this.instrument(em, order.symbol);
      this.track(order);
    }
    this.flushTimer = setInterval(() => void this.flushTriggerStates(), this.options.triggerFlushMs);
    if (this.options.sync) {
      const stream = this.options.sync.subscribe(ENGINE_SYNC_TOPIC)[Symbol.asyncIterator]();
      this.syncStream = stream;
      void (async () => {
        for (;;) {
          const next = await stream.next().catch(() => ({ done: true as const, value: undefined }));
          if (next.done || this.closed) return;
          const { orderId } = next.value as { orderId?: string };
          if (typeof orderId === 'string' && !this.book.has(orderId)) void this.reload(orderId);
        }
      })();
    }
    this.log.info({ watching: this.book.size }, 'order engine started');
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    await this.syncStream?.return?.();
    await Promise.allSettled([...this.pending]);
    await this.flushTriggerStates();
  }

  /** Resolves once no fire, slice or cancel is running in this process (tests tick, then wait for this). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** How many orders wait on a price in this process. */
  get watched(): number {
    return this.book.size;
  }

  // ---------------------------------------------------------------- prices

  /** A price from the feed (in this process or through Redis): fires what it crosses. */
  onTick(tick: EngineTick): void {
    if (this.closed || !this.prices.update(tick.symbol, tick.lastPrice, tick.timestamp)) return;
    if (!this.watching || this.book.size === 0) return;
    let result: ReturnType<TriggerBook['onPrice']>;
    try {
      result = this.book.onPrice(tick.symbol, tick.lastPrice);
    } catch (error) {
      this.log.warn({ err: error, symbol: tick.symbol }, 'tick ignored');
      return;
    }
    for (const { orderId, state } of result.updated) this.dirtyStates.set(orderId, state);
    if (result.fired.length === 0) return;
    const span = this.options.tracing?.startInternalSpan(`fire ${tick.symbol}`, {
      'mercado.symbol': tick.symbol,
      'mercado.tick.price': tick.lastPrice,
      'mercado.orders.fired': result.fired.length,
    });
    const fireAll = (): Promise<unknown> => {
      const fires: Promise<void>[] = [];
      const atOnce: Fired[] = [];
      for (const { orderId, fire, state } of result.fired) {
        this.dirtyStates.delete(orderId);
        const group = this.groups.get(orderId) ?? null;
        this.groups.delete(orderId);
        const record = this.records.get(orderId) ?? null;
        this.records.delete(orderId);
        const fired: Fired = { orderId, group, fire, state, record };
        if (this.firesAtOnce(fired)) atOnce.push(fired);
        else fires.push(this.serialize(orderId, () => this.fire(fired, tick)));
      }
      if (atOnce.length > 0) {
        fires.push(
          this.serialize(
            atOnce.map((fired) => fired.orderId),
            () => this.fireAtOnce(atOnce, tick),
          ),
        );
      }
      return Promise.allSettled(fires);
    };
    if (span) void inSpan(span, fireAll).then(() => span.end({}));
    else void fireAll();
  }

  /** The last price of `symbol`: the latest tick seen here, else the instrument row (written by the feed's recorder). */
  async lastPrice(em: EntityManager, symbol: string): Promise<string | null> {
    const seen = this.prices.last(symbol);
    if (seen) return seen;
    const row = await em.findOne(InstrumentEntity, { symbol }, { fields: ['lastPrice'] });
    return row ? plain(row.lastPrice) : null;
  }

  // ---------------------------------------------------------------- placing

  /**
   * Places a checked order. Paper: in one statement that also runs `guard`'s checks (filled at once
   * when it can, else reserved and working). Real exchange: stored NEW, sent (natively, or watched
   * by the engine when the exchange lacks the type), then updated with the exchange's answer.
   * Throws DuplicateClientOrderIdError when another request placed this client order id first,
   * InsufficientBalanceError when a paper account cannot fund it, and for paper
   * AccountUnavailableError and RiskExposureError when the guard refuses it.
   */
  async place(account: EngineAccount, instrument: InstrumentInfo, plan: OrderPlan, lastPrice: string, guard: PlacementGuard): Promise<TradeOrderRecord> {
    this.accounts.set(account.id, account);
    this.instruments.set(instrument.symbol, instrument);
    if (account.kind === 'paper') return this.placePaper(account, instrument, plan, lastPrice, guard);
    return this.placeOnExchange(account, plan, lastPrice);
  }

  private newRecord(account: EngineAccount, plan: OrderPlan, at: Date, execution: TradeOrderRecord['execution']): TradeOrderRecord {
    return {
      id: randomUUID(),
      userId: account.userId,
      accountId: account.id,
      clientOrderId: plan.clientOrderId,
      symbol: plan.symbol,
      base: plan.base,
      quote: plan.quote,
      side: plan.side,
      type: plan.type,
      quantity: plan.quantity,
      price: plan.price,
      stopPrice: plan.stopPrice,
      trailingPercent: plan.trailingPercent,
      trailingAmount: plan.trailingAmount,
      activationPrice: plan.activationPrice,
      visibleQuantity: plan.visibleQuantity,
      twapDurationMs: plan.twapDurationMs,
      twapSlices: plan.twapSlices,
      exits: plan.exits,
      parentId: null,
      ocoGroupId: null,
      ocoRole: null,
      status: TradeOrderStatus.NEW,
      filledQuantity: '0',
      averagePrice: null,
      feeTotal: '0',
      reason: null,
      execution,
      triggerState: null,
      reservedAsset: null,
      reservedAmount: '0',
      exchangeOrderId: null,
      triggeredAt: null,
      triggerTickAt: null,
      createdAt: at,
      updatedAt: at,
      closedAt: null,
      version: 1,
    };
  }

  /** The order and what it does at once, built in memory, then written in one statement with the guard's checks. */
  private async placePaper(account: EngineAccount, instrument: InstrumentInfo, plan: OrderPlan, lastPrice: string, guard: PlacementGuard): Promise<TradeOrderRecord> {
    const native = plan.type === TradeOrderType.MARKET || plan.type === TradeOrderType.LIMIT;
    const change = new TradeChange();
    const order = this.newRecord(account, plan, change.at, native ? 'native' : 'emulated');
    change.create(order);
    const taker = (limit?: string | null) => takerPrice(order.side, lastPrice, account.slippageBps, instrument.priceDecimals, limit);
    switch (order.type) {
      case TradeOrderType.MARKET:
        fillOnPaper(change, order, account, { quantity: order.quantity, price: taker(), liquidity: Liquidity.TAKER });
        break;
      case TradeOrderType.LIMIT:
      case TradeOrderType.ICEBERG: {
        const reservation = paperReservation(order, lastPrice, account);
        reserveFor(change, order, reservation.asset, reservation.amount);
        change.transition(order, TradeOrderStatus.OPEN);
        if (limitIsMarketable(order.side, order.price!, lastPrice)) {
          const quantity = order.type === TradeOrderType.ICEBERG ? this.icebergClip(order, instrument) : order.quantity;
          fillOnPaper(change, order, account, { quantity, price: taker(order.price), liquidity: Liquidity.TAKER });
        }
        break;
      }
      default: {
        const reservation = paperReservation(order, lastPrice, account);
        reserveFor(change, order, reservation.asset, reservation.amount);
        const spec = triggerSpecOf(order);
        if (spec) order.triggerState = initialTriggerState(spec, lastPrice) as unknown as Record<string, unknown>;
        change.transition(order, TradeOrderStatus.OPEN);
      }
    }
    this.placeExitsWhenDone(change, order, account, lastPrice);
    await change.place(this.options.orm.em.fork(), guard);
    this.afterCommit(change);
    if (order.type === TradeOrderType.TWAP) return this.scheduleTwap(order);
    return order;
  }

  private icebergClip(order: TradeOrderRecord, instrument: InstrumentInfo): string {
    return nextIcebergClip({
      total: order.quantity,
      visible: order.visibleQuantity!,
      filled: order.filledQuantity,
      step: new Decimal(10).pow(-instrument.amountDecimals).toFixed(),
    });
  }

  /**
   * An order that is done (filled, or ended after part of it filled) protects what it filled with
   * its attached take-profit and stop-loss; one still working places them once it is done.
   */
  private placeExitsWhenDone(change: TradeChange, order: TradeOrderRecord, account: EngineAccount, lastPrice: string): void {
    if (isDoneWithFills(order)) this.placeExits(change, order, account, lastPrice);
  }

  /** A done order's attached take-profit and stop-loss for what it filled, as an OCO pair sharing one reservation. */
  private placeExits(change: TradeChange, parent: TradeOrderRecord, account: EngineAccount, lastPrice: string): void {
    if (!parent.exits) return;
    const result = ocoLegs({
      parentSide: parent.side,
      quantity: parent.filledQuantity,
      entryPrice: parent.averagePrice ?? lastPrice,
      takeProfit: parent.exits.takeProfit,
      stopLoss: parent.exits.stopLoss,
    });
    if ('error' in result) {
      // The fill moved past an exit price: the legs would fire at once, so none is placed.
      parent.reason = parent.reason ? `${parent.reason}; exits not placed: ${result.error}` : `Exits not placed: ${result.error}`;
      change.touch(parent);
      return;
    }
    const groupId = result.legs.length > 1 ? randomUUID() : null;
    const legs = result.legs.map((leg) => {
      const spec = leg.spec as Extract<TriggerSpec, { type: 'TAKE_PROFIT' | 'STOP_MARKET' }>;
      const stopPrice = spec.type === 'TAKE_PROFIT' ? spec.triggerPrice : spec.stopPrice;
      const plan: OrderPlan = {
        clientOrderId: `${parent.clientOrderId}:${leg.role === 'TAKE_PROFIT' ? 'tp' : 'sl'}`,
        symbol: parent.symbol,
        base: parent.base,
        quote: parent.quote,
        side: spec.side as TradeSide,
        type: spec.type === 'TAKE_PROFIT' ? TradeOrderType.TAKE_PROFIT : TradeOrderType.STOP_MARKET,
        quantity: leg.quantity,
        price: null,
        stopPrice,
        trailingPercent: null,
        trailingAmount: null,
        activationPrice: null,
        visibleQuantity: null,
        twapDurationMs: null,
        twapSlices: null,
        exits: null,
      };
      const order = this.newRecord(account, plan, change.at, 'emulated');
      order.parentId = parent.id;
      order.ocoGroupId = groupId;
      order.ocoRole = leg.role === 'TAKE_PROFIT' ? OcoRole.TAKE_PROFIT : OcoRole.STOP_LOSS;
      order.status = TradeOrderStatus.OPEN;
      order.triggerState = initialTriggerState(spec, lastPrice) as unknown as Record<string, unknown>;
      change.create(order);
      return order;
    });
    if (account.kind !== 'paper' || legs.length === 0) return;
    // Both legs sell (or buy back) the same quantity: one reservation, held by the first leg, covers the pair.
    const first = legs[0]!;
    if (first.side === TradeSide.SELL) {
      reserveFor(change, first, first.base, first.quantity);
    } else {
      const highest = Decimal.max(...legs.map((leg) => leg.stopPrice!));
      const amount = new Decimal(first.quantity).times(withSlippage(highest, account.slippageBps)).times(new Decimal(1).plus(account.feeRate));
      reserveFor(change, first, first.quote, amount.toDecimalPlaces(10, Decimal.ROUND_UP));
    }
  }

  /** Schedules the slices; when that fails the order is cancelled (and returned as such). */
  private async scheduleTwap(order: TradeOrderRecord): Promise<TradeOrderRecord> {
    const instrument = await this.instrument(this.options.orm.em.fork(), order.symbol);
    const slices = planTwap({
      quantity: order.quantity,
      slices: order.twapSlices!,
      durationMs: order.twapDurationMs!,
      startAt: order.createdAt.getTime(),
      step: new Decimal(10).pow(-instrument.amountDecimals).toFixed(),
    });
    try {
      await this.options.twap.schedule(order.id, slices);
      return order;
    } catch (error) {
      this.log.error({ err: error, orderId: order.id }, 'TWAP slices not scheduled; order cancelled');
      await this.cancelInternally(order.id, 'TWAP slices could not be scheduled');
      return (await readOrder(this.options.orm.em.fork(), order.id)) ?? order;
    }
  }

  // ---------------------------------------------------------------- firing

  /** A paper order with no OCO sibling, whose record, account and instrument this process holds, fires in its tick's single statement. */
  private firesAtOnce(fired: Fired): boolean {
    if (!fired.record || fired.group !== null) return false;
    return this.accounts.get(fired.record.accountId)?.kind === 'paper' && this.instruments.has(fired.record.symbol);
  }

  /**
   * Fires what one tick crossed, from the records this process keeps of them, in a few statements
   * run side by side (`fireChunks`): no lock is taken, each order's version must still be the one
   * kept. When anything refuses a statement (an order changed elsewhere meanwhile, funds short,
   * exits' client order ids taken), nothing of it is written and each of its orders fires on its
   * own locked row instead, where those cases are handled.
   */
  private async fireAtOnce(batch: readonly Fired[], tick: EngineTick): Promise<void> {
    const chunks = fireChunks(batch);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(FIRE_CHUNKS_AT_ONCE, chunks.length) }, async () => {
        while (next < chunks.length) await this.fireChunk(chunks[next++]!, tick);
      }),
    );
  }

  private async fireChunk(batch: readonly Fired[], tick: EngineTick): Promise<void> {
    const change = new TradeChange();
    const waiting: TradeOrderRecord[] = [];
    try {
      for (const fired of batch) {
        const order = { ...fired.record! };
        if (this.fireOn(change, order, [], this.accounts.get(order.accountId)!, this.instruments.get(order.symbol)!, fired, tick) === 'waits') waiting.push(order);
      }
      await change.write(this.options.orm.em.fork());
    } catch (error) {
      this.log.debug({ err: error, orders: batch.length }, 'tick fires refused as a batch; firing each on its locked row');
      await Promise.all(batch.map((fired) => this.fire(fired, tick)));
      return;
    }
    this.afterCommit(change);
    for (const order of waiting) this.track(order);
  }

  /** Fires one order on its locked row (and its OCO group's). */
  private async fire(fired: Fired, tick: EngineTick): Promise<void> {
    const { orderId, group } = fired;
    let account: EngineAccount | null = null;
    let sendToExchange: TradeOrderRecord | null = null;
    let waiting: TradeOrderRecord | null = null;
    try {
      await this.transact(async (tx, change) => {
        const { order, siblings } = await this.lockTarget(tx, orderId, group);
        if (!order || !isLive(order.status)) return;
        account = await this.account(tx, order.accountId);
        const instrument = await this.instrument(tx, order.symbol);
        const outcome = this.fireOn(change, order, siblings, account, instrument, fired, tick);
        if (outcome === 'send') sendToExchange = order;
        if (outcome === 'waits') waiting = order;
      });
    } catch (error) {
      if (error instanceof InsufficientBalanceError) {
        await this.cancelInternally(orderId, `INSUFFICIENT_BALANCE: the account could not fund the fill at ${tick.lastPrice}`);
        return;
      }
      this.log.error({ err: error, orderId }, 'order fire failed; the order goes back to the book');
      void this.reload(orderId);
      return;
    }
    if (waiting) this.track(waiting);
    if (sendToExchange) await this.sendFired(account!, sendToExchange, fired.fire);
  }

  /**
   * What a fire does to a live order, on `change`: a resting paper limit the tick reached fills at
   * its own price (maker), one it did not reach waits in the book again ('waits'); a trigger cancels
   * the OCO sibling (its reservation moves here) and fills at the tick (paper) or goes to the
   * exchange after the commit ('send').
   */
  private fireOn(
    change: TradeChange,
    order: TradeOrderRecord,
    siblings: readonly TradeOrderRecord[],
    account: EngineAccount,
    instrument: InstrumentInfo,
    { fire, state }: Pick<Fired, 'fire' | 'state'>,
    tick: EngineTick,
  ): 'written' | 'send' | 'waits' {
    const limit = restingLimit(order);
    if (limit !== null) {
      if (account.kind !== 'paper') return 'written';
      // A trigger fired twice (by another replica too) finds the order resting already: it fills only at a price that reaches its limit.
      if (!limitIsMarketable(order.side, limit, tick.lastPrice)) return 'waits';
      const quantity = order.type === TradeOrderType.ICEBERG ? this.icebergClip(order, instrument) : remainingOf(order).toFixed();
      if (new Decimal(quantity).isZero()) return 'written';
      fillOnPaper(change, order, account, { quantity, price: limit, liquidity: Liquidity.MAKER });
    } else {
      for (const sibling of siblings) {
        if (!isLive(sibling.status)) continue;
        moveReservation(change, sibling, order);
        change.transition(sibling, TradeOrderStatus.CANCELLED, `OCO: the ${order.ocoRole ?? 'other'} leg triggered`);
      }
      order.triggeredAt = change.at;
      order.triggerTickAt = new Date(tick.timestamp);
      order.triggerState = { ...state } as unknown as Record<string, unknown>;
      change.touch(order);
      if (account.kind !== 'paper') return 'send';
      const taker = (cap?: string) => takerPrice(order.side, tick.lastPrice, account.slippageBps, instrument.priceDecimals, cap);
      if (fire.kind === 'MARKET') {
        fillOnPaper(change, order, account, { quantity: remainingOf(order).toFixed(), price: taker(), liquidity: Liquidity.TAKER });
      } else if (limitIsMarketable(order.side, fire.limitPrice, tick.lastPrice)) {
        fillOnPaper(change, order, account, { quantity: remainingOf(order).toFixed(), price: taker(fire.limitPrice), liquidity: Liquidity.TAKER });
      } else {
        change.transition(order, order.status, `Triggered at ${tick.lastPrice}: working as a limit order at ${fire.limitPrice}`);
      }
    }
    this.placeExitsWhenDone(change, order, account, tick.lastPrice);
    return 'written';
  }

  /** Locks one order, or its whole OCO group in id order (two transactions never lock a pair crosswise). */
  private async lockTarget(tx: EntityManager, orderId: string, group: string | null): Promise<{ order: TradeOrderRecord | null; siblings: TradeOrderRecord[] }> {
    if (!group) return { order: await lockOrder(tx, orderId), siblings: [] };
    const orders = await lockOrders(tx, { ocoGroupId: group });
    return { order: orders.find((order) => order.id === orderId) ?? null, siblings: orders.filter((order) => order.id !== orderId) };
  }

  /** Paper TWAP slice `index` at the last price: the last slice takes whatever remains. */
  async runTwapSlice(orderId: string, index: number): Promise<TwapSliceResult> {
    return this.serialize(orderId, async () => {
      const order = await readOrder(this.options.orm.em.fork(), orderId);
      if (!order || !isLive(order.status)) return 'skipped';
      const em = this.options.orm.em.fork();
      const account = await this.account(em, order.accountId);
      const instrument = await this.instrument(em, order.symbol);
      const slices = planTwap({
        quantity: order.quantity,
        slices: order.twapSlices!,
        durationMs: order.twapDurationMs!,
        startAt: order.createdAt.getTime(),
        step: new Decimal(10).pow(-instrument.amountDecimals).toFixed(),
      });
      const last = index >= slices.length - 1;
      const wanted = last ? remainingOf(order) : Decimal.min(new Decimal(slices[index]?.quantity ?? 0), remainingOf(order));
      if (wanted.isZero()) return 'skipped';
      const price = await this.lastPrice(em, order.symbol);
      if (!price) throw new Error(`no price for ${order.symbol}`);
      if (account.kind !== 'paper') {
        await this.sendChild(account, order, { type: 'MARKET', quantity: wanted.toFixed(), clientOrderId: exchangeClientId(order.id, index) });
        return 'filled';
      }
      try {
        const result = await this.transact(async (tx, change) => {
          const locked = await lockOrder(tx, orderId);
          if (!locked || !isLive(locked.status)) return 'skipped' as const;
          const quantity = last ? remainingOf(locked) : Decimal.min(wanted, remainingOf(locked));
          if (quantity.isZero()) return 'skipped' as const;
          fillOnPaper(change, locked, account, {
            quantity: quantity.toFixed(),
            price: takerPrice(locked.side, price, account.slippageBps, instrument.priceDecimals),
            liquidity: Liquidity.TAKER,
          });
          this.placeExitsWhenDone(change, locked, account, price);
          return 'filled' as const;
        });
        return result.result;
      } catch (error) {
        if (!(error instanceof InsufficientBalanceError)) throw error;
        await this.cancelInternally(orderId, `INSUFFICIENT_BALANCE: the account could not fund TWAP slice ${index + 1} at ${price}`);
        return 'skipped';
      }
    });
  }

  // ---------------------------------------------------------------- cancelling

  /**
   * The owner cancels a live order (an OCO leg cancels its pair): reservations go back; a real
   * exchange is asked first for what it holds. Returns the order as left, or a reason it cannot be
   * cancelled ('not-found', 'not-live'). Throws ExchangeError when the exchange cannot be asked.
   */
  async cancel(userId: string, orderId: string): Promise<TradeOrderRecord | 'not-found' | 'not-live'> {
    return this.serialize(orderId, async () => {
      const em = this.options.orm.em.fork();
      const current = await readOrder(em, orderId);
      if (!current || current.userId !== userId) return 'not-found';
      if (!isLive(current.status)) return 'not-live';
      const account = await this.account(em, current.accountId);
      if (account.kind !== 'paper' && restingOnExchange(current)) {
        let target: TradeOrderRecord = current;
        if (target.exchangeOrderId === null) {
          // Sent without an answer: the exchange may hold it under our client order id (a failure here
          // throws: cancelling only our copy could leave a live order there).
          const found = await (await this.adapterOf(em, account)).recoverOrder(exchangeClientId(target.id), target.symbol);
          if (found) target = (await this.applyExchangeAnswer(target.id, found)) ?? target;
          if (!isLive(target.status)) return 'not-live';
        }
        if (target.exchangeOrderId !== null) {
          const cancelled = await this.cancelOnExchange(account, target);
          if (cancelled) return cancelled;
        }
      }
      let outcome: TradeOrderRecord | 'not-live' = 'not-live';
      await this.transact(async (tx, change) => {
        const { order, siblings } = await this.lockTarget(tx, orderId, current.ocoGroupId);
        if (!order || !isLive(order.status)) return;
        for (const target of [order, ...siblings].filter((candidate) => isLive(candidate.status))) {
          releaseReservation(change, target);
          change.transition(target, TradeOrderStatus.CANCELLED, target === order ? 'Cancelled by the user' : 'OCO: the other leg was cancelled');
        }
        this.placeExitsWhenDone(change, order, account, this.prices.last(order.symbol) ?? order.averagePrice ?? '0');
        outcome = order;
      });
      return outcome;
    });
  }

  /** The engine ends an order itself (funds missing at fill time, TWAP not schedulable): CANCELLED with `reason`. */
  private async cancelInternally(orderId: string, reason: string): Promise<void> {
    await this.transact(async (tx, change) => {
      const order = await lockOrder(tx, orderId);
      if (!order || !isLive(order.status)) return;
      releaseReservation(change, order);
      change.transition(order, TradeOrderStatus.CANCELLED, reason);
      if (isDoneWithFills(order)) this.placeExits(change, order, await this.account(tx, order.accountId), this.prices.last(order.symbol) ?? order.averagePrice ?? '0');
    });
    this.log.warn({ orderId, reason }, 'order cancelled by the engine');
  }

  // ---------------------------------------------------------------- real exchanges

  /** The account's adapter (built once from its sealed credentials, then kept by the pool). */
  private async adapterOf(em: EntityManager, account: EngineAccount): Promise<TradingAdapter> {
    const [row] = await em.execute<{ credentials: string | null }[]>(`select "credentials" from "exchange_account" where "id" = ?`, [account.id]);
    return this.options.adapters.forAccount({ id: account.id, exchangeId: account.exchangeId, credentials: row?.credentials ?? null });
  }

  /**
   * A real exchange: stored NEW first (the client order id is taken from then on), then sent. Types
   * the exchange takes natively go there as they are; triggered types it lacks wait OPEN in our book
   * and send plain market or limit orders when they trigger; TWAP sends market slices; an ICEBERG
   * it lacks sends one visible clip at a time (`sendIcebergClip`).
   */
  private async placeOnExchange(account: EngineAccount, plan: OrderPlan, lastPrice: string): Promise<TradeOrderRecord> {
    const em = this.options.orm.em.fork();
    const adapter = await this.adapterOf(em, account);
    const native = plan.type !== TradeOrderType.TWAP && adapter.supportsNatively(plan.type as NativeOrderType);
    let placed: TradeOrderRecord | null = null;
    await this.transact(async (_tx, change) => {
      const order = this.newRecord(account, plan, change.at, native ? 'native' : 'emulated');
      placed = order;
      change.create(order);
      const spec = triggerSpecOf(order);
      if (!native && (spec || order.type === TradeOrderType.TWAP)) {
        if (spec) order.triggerState = initialTriggerState(spec, lastPrice) as unknown as Record<string, unknown>;
        change.transition(order, TradeOrderStatus.OPEN);
      }
    });
    const order = placed!;
    if (order.type === TradeOrderType.TWAP) return this.scheduleTwap(order);
    if (order.status === TradeOrderStatus.OPEN) return order;
    if (!native && restingLimit(order) === null) {
      return (await this.endOrder(order.id, TradeOrderStatus.REJECTED, `${account.exchangeId} takes no ${order.type} orders`)) ?? order;
    }
    if (isEmulatedIceberg(order)) return (await this.sendIcebergClip(account, order)) ?? order;
    const sent = await this.sendChild(account, order, {
      type: native ? (order.type as NativeOrderType) : 'LIMIT',
      quantity: order.quantity,
      clientOrderId: exchangeClientId(order.id),
    });
    return sent ?? order;
  }

  /**
   * Sends an emulated iceberg's next clip (its visible quantity, or what remains) as a plain limit
   * order, and the one after each time a clip fills at once. The order forgets the filled clip's
   * exchange id first, so a clip whose answer is lost is found again by its own client order id.
   */
  private async sendIcebergClip(account: EngineAccount, order: TradeOrderRecord): Promise<TradeOrderRecord | null> {
    let current = order;
    while (isEmulatedIceberg(current) && isLive(current.status) && !remainingOf(current).isZero()) {
      // The first clip has no exchange order to forget.
      const cleared = current.exchangeOrderId === null ? current : await this.forgetExchangeOrder(current.id);
      if (!cleared) return current;
      const instrument = await this.instrument(this.options.orm.em.fork(), cleared.symbol);
      const clip = this.icebergClip(cleared, instrument);
      const sent = await this.sendChild(account, cleared, { type: 'LIMIT', quantity: clip, clientOrderId: icebergClipClientId(cleared) });
      // Resting on the exchange, or its answer lost: the sync sends the next clip once this one has filled.
      if (!sent?.exchangeOrderId || !new Decimal(sent.filledQuantity).minus(cleared.filledQuantity).eq(clip)) return sent;
      current = sent;
    }
    return current;
  }

  /** Clears a live order's exchange order id (its filled clip's), returning the order; null when it is no longer live. No event: nothing a client sees changed. */
  private async forgetExchangeOrder(orderId: string): Promise<TradeOrderRecord | null> {
    const [row] = await this.options.orm.em.fork().execute<Record<string, unknown>[]>(
      `update "trade_order" set "exchange_order_id" = null, "version" = "version" + 1
        where "id" = ? and "status" in ('NEW', 'OPEN', 'PARTIALLY_FILLED') returning *`,
      [orderId],
    );
    return row ? recordOfRow(row) : null;
  }

  /** A triggered emulated order goes to the exchange as a market order, or a limit one. */
  private async sendFired(account: EngineAccount, order: TradeOrderRecord, fire: TriggerFire): Promise<void> {
    await this.sendChild(account, order, {
      type: fire.kind === 'MARKET' ? 'MARKET' : 'LIMIT',
      price: fire.kind === 'LIMIT' ? fire.limitPrice : undefined,
      quantity: remainingOf(order).toFixed(),
      clientOrderId: exchangeClientId(order.id),
    });
  }

  /**
   * Sends `order` (or a part of it) and applies the answer. REJECTED: the order is REJECTED with
   * the exchange's reason. No answer (timeout, network): the order stays as it is with a note, and
   * `syncExchangeOrders` finds out later by its client order id. Returns the order as left.
   */
  private async sendChild(
    account: EngineAccount,
    order: TradeOrderRecord,
    child: { type: NativeOrderType; quantity: string; clientOrderId: string; price?: string },
  ): Promise<TradeOrderRecord | null> {
    const em = this.options.orm.em.fork();
    const adapter = await this.adapterOf(em, account);
    const nativeType = child.type;
    try {
      const answer = await adapter.placeOrder({
        clientOrderId: child.clientOrderId,
        symbol: order.symbol,
        side: order.side as 'BUY' | 'SELL',
        type: nativeType,
        quantity: child.quantity,
        ...(child.price ?? order.price ? { price: child.price ?? order.price! } : {}),
        ...(nativeType === (order.type as string) && order.stopPrice ? { stopPrice: order.stopPrice } : {}),
        ...(nativeType === (order.type as string) && order.trailingPercent ? { trailingPercent: order.trailingPercent } : {}),
        ...(nativeType === (order.type as string) && order.trailingAmount ? { trailingAmount: order.trailingAmount } : {}),
        ...(nativeType === (order.type as string) && order.activationPrice ? { activationPrice: order.activationPrice } : {}),
        ...(nativeType === (order.type as string) && order.visibleQuantity ? { visibleQuantity: order.visibleQuantity } : {}),
      });
      return await this.applyExchangeAnswer(order.id, answer);
    } catch (error) {
      if (error instanceof ExchangeError && error.kind !== 'UNAVAILABLE') {
        const reason = error.kind === 'AUTH' ? 'The exchange refused the account\'s API credentials' : error.message;
        return this.endOrder(order.id, TradeOrderStatus.REJECTED, reason.slice(0, 500));
      }
      this.log.warn({ err: error, orderId: order.id }, 'exchange did not answer; the order is reconciled by its client order id');
      return this.note(order.id, 'UNKNOWN: the exchange did not answer; reconciling by client order id');
    }
  }

  private async cancelOnExchange(account: EngineAccount, order: TradeOrderRecord): Promise<TradeOrderRecord | null> {
    const adapter = await this.adapterOf(this.options.orm.em.fork(), account);
    try {
      const answer = await adapter.cancelOrder(order.exchangeOrderId!, order.symbol);
      return await this.applyExchangeAnswer(order.id, answer, 'Cancelled by the user');
    } catch (error) {
      if (error instanceof ExchangeError && error.kind === 'REJECTED') return null;
      throw error;
    }
  }

  /**
   * Applies what the exchange says of an order: its id, fills not recorded yet (by trade id) and
   * status. An emulated order whose child was sent keeps its own quantity: it is FILLED once the
   * children filled all of it.
   */
  async applyExchangeAnswer(orderId: string, answer: ExchangeOrder, cancelReason?: string): Promise<TradeOrderRecord | null> {
    let result: TradeOrderRecord | null = null;
    await this.transact(async (tx, change) => {
      const order = await lockOrder(tx, orderId);
      if (!order) return;
      result = order;
      const known = new Set(
        (await tx.execute<{ exchange_trade_id: string | null }[]>(`select "exchange_trade_id" from "fill" where "order_id" = ?`, [orderId])).map((row) => row.exchange_trade_id),
      );
      order.exchangeOrderId = answer.exchangeOrderId || order.exchangeOrderId;
      change.touch(order);
      for (const fill of answer.fills) {
        if (known.has(fill.tradeId) || new Decimal(fill.quantity).isZero()) continue;
        const room = remainingOf(order);
        if (room.isZero()) break;
        const feeCurrency = fill.feeCurrency || order.quote;
        // A third asset's fee (BNB) is valued here, where prices are known; base and quote fees by the change.
        const feeAssetPrice = feeCurrency === order.base || feeCurrency === order.quote ? null : this.prices.last(`${feeCurrency}/${order.quote}`);
        change.addFill(order, {
          quantity: Decimal.min(room, fill.quantity).toFixed(),
          price: fill.price,
          fee: fill.fee,
          feeCurrency,
          feeInQuote: feeAssetPrice === null ? null : new Decimal(fill.fee).times(feeAssetPrice).toFixed(),
          liquidity: Liquidity.TAKER,
          exchangeTradeId: fill.tradeId,
          executedAt: new Date(fill.timestamp),
        });
      }
      if (!isLive(order.status)) return;
      const full = remainingOf(order).isZero();
      switch (answer.status) {
        case 'FILLED':
          change.transition(order, full ? TradeOrderStatus.FILLED : TradeOrderStatus.PARTIALLY_FILLED, null);
          break;
        case 'OPEN':
        case 'PARTIALLY_FILLED':
          change.transition(order, new Decimal(order.filledQuantity).isZero() ? TradeOrderStatus.OPEN : TradeOrderStatus.PARTIALLY_FILLED, null);
          break;
        case 'CANCELLED':
          change.transition(order, TradeOrderStatus.CANCELLED, cancelReason ?? 'Cancelled by the exchange');
          break;
        case 'REJECTED':
          change.transition(order, TradeOrderStatus.REJECTED, 'Rejected by the exchange');
          break;
        case 'EXPIRED':
          change.transition(order, TradeOrderStatus.EXPIRED, 'Expired on the exchange');
          break;
      }
      if (isDoneWithFills(order)) this.placeExits(change, order, await this.account(tx, order.accountId), order.averagePrice ?? '0');
    });
    return result;
  }

  /**
   * Brings live real-exchange orders up to date: orders the exchange never answered for are looked
   * up by client order id (none there after twice the timeout: REJECTED as never received), orders
   * resting there are fetched. Runs periodically with workers on; tests call it directly.
   */
  async syncExchangeOrders(): Promise<number> {
    const em = this.options.orm.em.fork();
    const rows = await em.execute<Record<string, unknown>[]>(
      `select o.* from "trade_order" o join "exchange_account" a on a."id" = o."account_id"
        where a."kind" = 'ccxt' and o."status" in ('NEW', 'OPEN', 'PARTIALLY_FILLED')
          and (o."execution" = 'native' or o."triggered_at" is not null or o."type" in ('LIMIT', 'ICEBERG'))`,
    );
    let synced = 0;
    for (const order of rows.map(recordOfRow)) {
      const account = await this.account(em, order.accountId);
      const adapter = await this.adapterOf(em, account);
      try {
        if (order.exchangeOrderId) {
          const answer = await adapter.fetchOrder(order.exchangeOrderId, order.symbol);
          const updated = await this.applyExchangeAnswer(order.id, answer);
          if (updated && isEmulatedIceberg(updated) && answer.status === 'FILLED') await this.sendIcebergClip(account, updated);
        } else {
          const found = await adapter.recoverOrder(isEmulatedIceberg(order) ? icebergClipClientId(order) : exchangeClientId(order.id), order.symbol);
          if (found) await this.applyExchangeAnswer(order.id, found);
          else if (Date.now() - order.updatedAt.getTime() > 2 * this.options.exchangeTimeoutMs) {
            await this.endOrder(order.id, TradeOrderStatus.REJECTED, 'The exchange never received the order');
          } else continue;
        }
        synced += 1;
      } catch (error) {
        this.log.warn({ err: error, orderId: order.id }, 'exchange order not synced; next round retries');
      }
    }
    return synced;
  }

  private async endOrder(orderId: string, status: TradeOrderStatus, reason: string): Promise<TradeOrderRecord | null> {
    let result: TradeOrderRecord | null = null;
    await this.transact(async (tx, change) => {
      const order = await lockOrder(tx, orderId);
      if (!order) return;
      result = order;
      if (!isLive(order.status)) return;
      releaseReservation(change, order);
      change.transition(order, status, reason);
      if (isDoneWithFills(order)) this.placeExits(change, order, await this.account(tx, order.accountId), this.prices.last(order.symbol) ?? order.averagePrice ?? '0');
    });
    return result;
  }

  private async note(orderId: string, reason: string): Promise<TradeOrderRecord | null> {
    let result: TradeOrderRecord | null = null;
    await this.transact(async (tx, change) => {
      const order = await lockOrder(tx, orderId);
      if (!order) return;
      result = order;
      if (!isLive(order.status)) return;
      change.transition(order, order.status, reason);
    });
    return result;
  }

  // ---------------------------------------------------------------- plumbing

  /**
   * Runs `work` in a transaction with a TradeChange it fills, writes the change, commits; then tells
   * subscribers, keeps the book in step and emits `changed`.
   */
  private async transact<T>(work: (tx: EntityManager, change: TradeChange) => Promise<T>): Promise<{ result: T; change: TradeChange }> {
    let change!: TradeChange;
    const result = await this.options.orm.em.fork().transactional(async (tx) => {
      change = new TradeChange();
      const value = await work(tx, change);
      await change.write(tx);
      return value;
    });
    this.afterCommit(change);
    return { result, change };
  }

  private afterCommit(change: TradeChange): void {
    const orders = change.orders;
    if (orders.length === 0) return;
    // The commit's time, before the work that follows it (publishing, the book).
    const at = Date.now();
    this.options.updates.publish(orders);
    for (const order of orders) {
      if (order.triggerTickAt !== null && order.triggeredAt?.getTime() === change.at.getTime()) {
        this.triggerLatency?.observe((at - order.triggerTickAt.getTime()) / 1000);
        this.emit('triggered', { orderId: order.id, tickAt: order.triggerTickAt.getTime(), at });
      }
      this.track(order);
    }
    this.emit('changed', orders);
  }

  /** Puts a live order waiting on a price into the book (or takes it out); other engines hear of new ones. */
  private track(order: TradeOrderRecord): void {
    const watch = this.watchOf(order);
    if (!watch) {
      if (this.book.remove(order.id)) this.groups.delete(order.id);
      this.records.delete(order.id);
      return;
    }
    if (!this.watching) {
      this.options.sync?.publish(ENGINE_SYNC_TOPIC, { orderId: order.id });
      return;
    }
    this.book.add(order.id, order.symbol, watch.spec, watch.state);
    this.records.set(order.id, { ...order });
    if (order.ocoGroupId) this.groups.set(order.id, order.ocoGroupId);
    this.options.sync?.publish(ENGINE_SYNC_TOPIC, { orderId: order.id });
  }

  /** What a live order waits for: its trigger, or its resting paper limit; null when nothing. */
  private watchOf(order: TradeOrderRecord): { spec: TriggerSpec; state: TriggerState } | null {
    if (!isLive(order.status)) return null;
    const limit = restingLimit(order);
    if (limit !== null) {
      // Resting limits on a real exchange rest there; only paper ones are matched here.
      if (this.accounts.get(order.accountId)?.kind !== 'paper') return null;
      return { spec: { type: 'LIMIT', side: order.side, limitPrice: limit }, state: { extreme: null, activated: true, stopPrice: null } };
    }
    if (order.triggeredAt !== null) return null;
    const spec = triggerSpecOf(order);
    if (!spec || order.execution !== 'emulated') return null;
    const state = (order.triggerState as unknown as TriggerState | null) ?? initialTriggerState(spec, this.prices.last(order.symbol));
    return { spec, state };
  }

  /** Loads an order another replica placed (or one whose fire failed) and watches it if it still waits. */
  private async reload(orderId: string): Promise<void> {
    const order = await readOrder(this.options.orm.em.fork(), orderId).catch(() => null);
    if (!order) return;
    const em = this.options.orm.em.fork();
    await this.account(em, order.accountId).catch(() => undefined);
    await this.instrument(em, order.symbol).catch(() => undefined);
    this.track(order);
  }

  private async account(em: EntityManager, accountId: string): Promise<EngineAccount> {
    const account = await this.findAccount(em, accountId);
    if (!account) throw new Error(`account ${accountId} not found`);
    return account;
  }

  /** An account's owner and terms (they never change after linking), read once per process; null when there is none. */
  async findAccount(em: EntityManager, accountId: string): Promise<EngineAccount | null> {
    const known = this.accounts.get(accountId);
    if (known) return known;
    const [row] = await em.execute<{ id: string; user_id: string; kind: 'paper' | 'ccxt'; exchange_id: string; fee_rate: string; slippage_bps: string }[]>(
      `select "id", "user_id", "kind", "exchange_id", "fee_rate", "slippage_bps" from "exchange_account" where "id" = ?`,
      [accountId],
    );
    if (!row) return null;
    const account: EngineAccount = { id: row.id, userId: row.user_id, kind: row.kind, exchangeId: row.exchange_id, feeRate: row.fee_rate, slippageBps: row.slippage_bps };
    this.accounts.set(accountId, account);
    return account;
  }

  async instrument(em: EntityManager, symbol: string): Promise<InstrumentInfo> {
    const known = this.instruments.get(symbol);
    if (known) return known;
    const row = await em.findOneOrFail(InstrumentEntity, { symbol });
    const info: InstrumentInfo = { symbol: row.symbol, base: row.base, quote: row.quote, priceDecimals: row.priceDecimals, amountDecimals: row.amountDecimals };
    this.instruments.set(symbol, info);
    return info;
  }

  /** Runs `work` after the previous work on the same orders in this process; close() waits for it. */
  private serialize<T>(orderIds: string | readonly string[], work: () => Promise<T>): Promise<T> {
    const ids = typeof orderIds === 'string' ? [orderIds] : orderIds;
    const previous = ids.length === 1 ? (this.queues.get(ids[0]!) ?? Promise.resolve()) : Promise.all(ids.map((id) => this.queues.get(id)));
    const next = previous.then(work, work);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    for (const id of ids) this.queues.set(id, settled);
    this.pending.add(settled);
    void settled.then(() => {
      this.pending.delete(settled);
      for (const id of ids) if (this.queues.get(id) === settled) this.queues.delete(id);
    });
    return next;
  }

  private async flushTriggerStates(): Promise<void> {
    if (this.dirtyStates.size === 0) return;
    const states = [...this.dirtyStates.entries()].map(([orderId, state]) => ({ orderId, state }));
    this.dirtyStates.clear();
    try {
      await saveTriggerStates(this.options.orm.em.fork(), states);
    } catch (error) {
      this.log.warn({ err: error, orders: states.length }, 'trailing stop states not saved; the next flush retries');
      for (const { orderId, state } of states) if (!this.dirtyStates.has(orderId)) this.dirtyStates.set(orderId, state);
    }
  }
}

/** A real-exchange order the exchange itself holds (sent natively, or a triggered child resting there). */
function restingOnExchange(order: TradeOrderRecord): boolean {
  return order.execution === 'native' || order.triggeredAt !== null || order.type === TradeOrderType.LIMIT || order.type === TradeOrderType.ICEBERG;
}

export { DuplicateClientOrderIdError };

/** Orders per statement when a tick fires many at once: a statement costs about 0.2 ms per order. */
const FIRE_CHUNK_ORDERS = 16;
/** Statements of one tick running at once; the rest of the pool stays for placements and reads. */
const FIRE_CHUNKS_AT_ONCE = 4;

/**
 * A tick's fires split into statements of about FIRE_CHUNK_ORDERS orders (more when the tick fires
 * over FIRE_CHUNKS_AT_ONCE times that), run side by side, so a wide crossing commits in a fraction
 * of one statement's time. An account's orders stay in one statement: they draw on the same
 * balances, and statements of different accounts never wait on each other.
 */
export function fireChunks<T extends { record: { accountId: string } | null }>(batch: readonly T[]): T[][] {
  const byAccount = new Map<string, T[]>();
  for (const fired of batch) {
    const key = fired.record?.accountId ?? '';
    const list = byAccount.get(key) ?? [];
    list.push(fired);
    byAccount.set(key, list);
  }
  const size = Math.max(FIRE_CHUNK_ORDERS, Math.ceil(batch.length / FIRE_CHUNKS_AT_ONCE));
  const chunks: T[][] = [];
  let current: T[] = [];
  for (const orders of byAccount.values()) {
    if (current.length > 0 && current.length + orders.length > size) {
      chunks.push(current);
      current = [];
    }
    current.push(...orders);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
