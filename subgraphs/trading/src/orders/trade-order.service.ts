import { QueryOrder, type FilterQuery } from '@mikro-orm/core';
import { AppError, badInput, conflict, decodeCursor, encodeCursor, type EntityManager, forbidden, groupedBy, isUuid, notFound, orderedBy, type RequestContext, requireUuid, requireViewer, unauthenticated } from '../../../kit/src';
import { exchangeFailure } from '../accounts/account.service';
import { ExchangeError } from '../exchange/exchange-adapter';
import { freeBalance, InsufficientBalanceError } from '../paper/paper-ledger';
import { readPreflight } from '../risk/positions';
import { findRiskBreach, NO_EXPOSURE, riskError, type RiskBreach, type RiskLimits, type RiskOrder } from '../risk/risk';
import { Decimal, plain } from '../shared/decimal';
import type { EngineAccount, OrderEngine } from './order-engine';
import { planOrder, referencePrice, type InstrumentInfo, type OrderPlan, type PlanLimits } from './order-rules';
import { AccountUnavailableError, DuplicateClientOrderIdError, RiskExposureError } from './trade-change';
import { FillEntity, TradeOrderEntity, TradeOrderHistoryEntity } from './trade-order.entity';
import { DEFAULT_TRADE_ORDERS_PAGE, type PlaceTradeOrderInput, type TradeOrdersArgs } from './trade-order.input';
import type { TradeOrderRecord } from './trade-order.model';
import { toFill, toHistoryEntry, toTradeOrder, type Fill, type TradeOrder, type TradeOrderConnection, type TradeOrderHistoryEntry } from './trade-order.type';

/** Rounds of `cancelAllOf`: orders, then the exits they placed as they ended. */
const CANCEL_ALL_ROUNDS = 3;

/** What the service needs of the order engine. */
export type TradeOrderEngine = Pick<OrderEngine, 'place' | 'cancel' | 'lastPrice' | 'instrument' | 'findAccount'>;

export interface TradeOrderServiceOptions {
  engine: TradeOrderEngine;
  risk: RiskLimits;
  limits: PlanLimits;
  maxPage: number;
}

/**
 * Trade orders through the API: placing (rules, idempotency, risk, then the engine), cancelling,
 * reading. A trade order exists only for its owner: to anyone else it is NOT_FOUND (ADMINs
 * included), so ids cannot be probed.
 */
export class TradeOrderService {
  constructor(private readonly options: TradeOrderServiceOptions) {}

  /**
   * Places an order. The same clientOrderId again returns the first order (CONFLICT when the new
   * request asks for a different one). Nothing is stored or sent when a rule (BAD_USER_INPUT), a
   * risk limit (RISK_LIMIT) or the paper balance (INSUFFICIENT_BALANCE) refuses it.
   *
   * Hot path: an order on the viewer's paper account that passes the rules and the per-order
   * limit takes one statement (the account's terms and the last price are kept in memory), which
   * checks the client order id, that the account is still linked and the limits that need its
   * exposure, then writes everything. Anything else (a real exchange, someone else's or an unknown
   * account, no price yet, an order the rules or the per-order limit refuse) takes the checked
   * path, which looks for an earlier order under the client order id first, as a retry expects.
   */
  async place(ctx: RequestContext, input: PlaceTradeOrderInput): Promise<TradeOrder> {
    const viewer = requireViewer(ctx.viewer);
    const accountId = requireUuid(input.accountId, 'accountId');
    const { engine } = this.options;
    const instrument = await engine.instrument(ctx.em, input.symbol).catch(() => null);
    if (!instrument) throw badInput(`unknown instrument ${input.symbol}`, 'symbol');
    const account = await engine.findAccount(ctx.em, accountId);
    const lastPrice = account?.kind === 'paper' && account.userId === viewer.id ? await engine.lastPrice(ctx.em, instrument.symbol) : null;
    if (account && lastPrice) {
      const plan = this.planned(input, instrument, lastPrice);
      if (plan && !findRiskBreach(this.options.risk, this.riskOrder(plan, lastPrice), NO_EXPOSURE)) return this.submit(ctx, input, account, instrument, plan, lastPrice);
    }
    return this.placeChecked(ctx, viewer.id, accountId, instrument, input);
  }

  /** The checked path: an earlier order under the client order id, the account, the price, the rules and the risk limits, one by one. */
  private async placeChecked(ctx: RequestContext, userId: string, accountId: string, instrument: InstrumentInfo, input: PlaceTradeOrderInput): Promise<TradeOrder> {
    const { engine } = this.options;
    // The earlier order under this client order id, the account and the risk exposure in one query.
    const preflight = await readPreflight(ctx.em, { userId, clientOrderId: input.clientOrderId, accountId, symbol: instrument.symbol, at: new Date() });
    if (preflight.existingOrderId) {
      const previous = await this.byClientOrderId(ctx, userId, input.clientOrderId);
      if (previous) return this.repeated(previous, input);
    }
    const account = preflight.account;
    if (!account || account.userId !== userId || account.unlinked) throw notFound('ExchangeAccount', accountId);
    const lastPrice = await engine.lastPrice(ctx.em, instrument.symbol);
    if (!lastPrice) throw new AppError('UPSTREAM_UNAVAILABLE', `No price for ${instrument.symbol} yet`);
    const plan = planOrder(input, instrument, lastPrice, this.options.limits);
    const breach = findRiskBreach(this.options.risk, this.riskOrder(plan, lastPrice), preflight.exposure);
    if (breach) this.refuse(ctx, accountId, breach);
    return this.submit(ctx, input, account, instrument, plan, lastPrice);
  }

  /** Hands a planned order to the engine and answers what the write refused. */
  private async submit(ctx: RequestContext, input: PlaceTradeOrderInput, account: EngineAccount, instrument: InstrumentInfo, plan: OrderPlan, lastPrice: string): Promise<TradeOrder> {
    const { risk } = this.options;
    const order = this.riskOrder(plan, lastPrice);
    try {
      const placed = await this.options.engine.place(account, instrument, plan, lastPrice, {
        userId: account.userId,
        clientOrderId: plan.clientOrderId,
        accountId: account.id,
        symbol: plan.symbol,
        quantity: plan.quantity,
        referencePrice: order.referencePrice,
        dailyLossLimit: risk.dailyLossLimit,
        maxPositionNotional: plan.side === 'BUY' ? risk.maxPositionNotional : null,
      });
      return toTradeOrder(placed);
    } catch (error) {
      if (error instanceof DuplicateClientOrderIdError) {
        const first = await this.byClientOrderId(ctx, account.userId, input.clientOrderId, true);
        if (first) return this.repeated(first, input);
      }
      if (error instanceof AccountUnavailableError) throw notFound('ExchangeAccount', account.id);
      if (error instanceof RiskExposureError) {
        const breach = findRiskBreach(risk, order, error.exposure);
        if (breach) this.refuse(ctx, account.id, breach);
      }
      if (error instanceof InsufficientBalanceError) throw await this.insufficient(ctx, error);
      throw error;
    }
  }

  /** The plan, or null when a rule refuses the order (the checked path then answers, after idempotency). */
  private planned(input: PlaceTradeOrderInput, instrument: InstrumentInfo, lastPrice: string): OrderPlan | null {
    try {
      return planOrder(input, instrument, lastPrice, this.options.limits);
    } catch {
      return null;
    }
  }

  private riskOrder(plan: OrderPlan, lastPrice: string): RiskOrder {
    return { side: plan.side, quantity: plan.quantity, referencePrice: referencePrice(plan, lastPrice).toFixed() };
  }

  private refuse(ctx: RequestContext, accountId: string, breach: RiskBreach): never {
    ctx.log.info({ accountId, rule: breach.rule, limit: breach.limit, value: breach.value }, 'order refused by a risk limit');
    throw riskError(breach);
  }

  /** The owner cancels a live order (and the other leg of an OCO pair). CONFLICT once it is filled or ended. */
  async cancel(ctx: RequestContext, rawId: string): Promise<TradeOrder> {
    const viewer = requireViewer(ctx.viewer);
    const id = requireUuid(rawId);
    let outcome: Awaited<ReturnType<TradeOrderEngine['cancel']>>;
    try {
      outcome = await this.options.engine.cancel(viewer.id, id);
    } catch (error) {
      if (error instanceof ExchangeError) throw exchangeFailure(error, 'cancelling the order');
      throw error;
    }
    if (outcome === 'not-found') throw notFound('TradeOrder', id);
    if (outcome === 'not-live') {
      const order = await ctx.em.fork().findOne(TradeOrderEntity, { id });
      throw conflict(`Trade order ${id} is ${order?.status ?? 'not live'}; only NEW, OPEN or PARTIALLY_FILLED orders can be cancelled`);
    }
    ctx.log.info({ orderId: id }, 'trade order cancelled by its owner');
    return toTradeOrder(outcome);
  }

  /**
   * Erasure: cancels every live order of `userId` the way `cancel` does (the engine asks a real
   * exchange first, then cancels our copy and its OCO pair, each in its own transaction), oldest
   * first, until none is left. Returns how many it cancelled. Throws what the engine throws
   * (ExchangeError when an exchange cannot be asked); what was cancelled before stays cancelled.
   */
  async cancelAllOf(em: EntityManager, userId: string): Promise<number> {
    let cancelled = 0;
    // A partly filled order places its attached exits as it ends: the next round cancels those.
    for (let round = 0; round < CANCEL_ALL_ROUNDS; round += 1) {
      const live = await em.execute<{ id: string }[]>(
        `select "id" from "trade_order" where "user_id" = ? and "status" in ('NEW', 'OPEN', 'PARTIALLY_FILLED') order by "created_at", "id"`,
        [userId],
      );
      if (live.length === 0) break;
      for (const { id } of live) {
        const outcome = await this.options.engine.cancel(userId, id);
        if (typeof outcome !== 'string') cancelled += 1;
      }
    }
    return cancelled;
  }

  async order(ctx: RequestContext, rawId: string): Promise<TradeOrder> {
    const viewer = requireViewer(ctx.viewer);
    const id = requireUuid(rawId);
    const order = await this.byId(ctx).load(id);
    if (!order || order.userId !== viewer.id) throw notFound('TradeOrder', id);
    return toTradeOrder(order);
  }

  /** `_entities` for TradeOrder: null for unknown ids and for orders that are not the viewer's. */
  async reference(ctx: RequestContext, id: string): Promise<TradeOrder | null> {
    if (!ctx.viewer || !isUuid(id)) return null;
    const order = await this.byId(ctx).load(id.toLowerCase());
    return order && order.userId === ctx.viewer.id ? toTradeOrder(order) : null;
  }

  /** An order as committed now, for `tradeOrderUpdated` (ownership was checked on subscribing). */
  async current(ctx: RequestContext, id: string): Promise<TradeOrder> {
    const order = await ctx.em.findOne(TradeOrderEntity, { id }, { refresh: true });
    if (!order) throw notFound('TradeOrder', id);
    return toTradeOrder(order);
  }

  /** `tradeOrders` and `User.tradeOrders`: the user's orders newest first; only the user themself (FORBIDDEN otherwise). */
  async list(ctx: RequestContext, userId: string, args: TradeOrdersArgs): Promise<TradeOrderConnection> {
    if (!ctx.viewer) throw unauthenticated();
    if (ctx.viewer.id !== userId) throw forbidden('Only the user themself sees their trade orders');
    const max = this.options.maxPage;
    const size = args.first ?? Math.min(DEFAULT_TRADE_ORDERS_PAGE, max);
    if (!Number.isInteger(size) || size < 1 || size > max) throw badInput(`first must be between 1 and ${max}`, 'first');
    const filter = args.filter ?? {};
    const where: FilterQuery<TradeOrderEntity> = { userId };
    if (filter.accountId) where.accountId = requireUuid(filter.accountId, 'filter.accountId');
    if (filter.symbol) where.symbol = filter.symbol;
    if (filter.status && filter.status.length > 0) where.status = { $in: filter.status };
    if (filter.side) where.side = filter.side;
    if (filter.type) where.type = filter.type;
    if (args.after) {
      const position = decodeCursor(args.after);
      where.$or = [{ createdAt: { $lt: position.at } }, { createdAt: position.at, id: { $lt: position.id } }];
    }
    const rows = await ctx.em.find(TradeOrderEntity, where, { orderBy: [{ createdAt: QueryOrder.DESC }, { id: QueryOrder.DESC }], limit: size + 1 });
    const edges = rows.slice(0, size).map((row) => ({ cursor: encodeCursor({ at: row.createdAt, id: row.id }), node: toTradeOrder(row) }));
    return {
      edges,
      pageInfo: {
        hasNextPage: rows.length > size,
        hasPreviousPage: Boolean(args.after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges[edges.length - 1]?.cursor ?? null,
      },
    };
  }

  fills(ctx: RequestContext, orderId: string): Promise<Fill[]> {
    return ctx.loaders
      .get<string, Fill[]>('tradeOrder.fills', async (ids) => {
        const rows = await ctx.em.find(FillEntity, { orderId: { $in: [...ids] } }, { orderBy: { executedAt: QueryOrder.ASC, id: QueryOrder.ASC } });
        return groupedBy(ids, rows, (row) => row.orderId).map((group) => group.map(toFill));
      })
      .load(orderId);
  }

  history(ctx: RequestContext, orderId: string): Promise<TradeOrderHistoryEntry[]> {
    return ctx.loaders
      .get<string, TradeOrderHistoryEntry[]>('tradeOrder.history', async (ids) => {
        const rows = await ctx.em.find(TradeOrderHistoryEntity, { orderId: { $in: [...ids] } }, { orderBy: { id: QueryOrder.ASC } });
        return groupedBy(ids, rows, (row) => row.orderId).map((group) => group.map(toHistoryEntry));
      })
      .load(orderId);
  }

  /** The OCO legs a filled order placed, take-profit first. */
  exitOrders(ctx: RequestContext, orderId: string): Promise<TradeOrder[]> {
    return ctx.loaders
      .get<string, TradeOrder[]>('tradeOrder.exits', async (ids) => {
        const rows = await ctx.em.find(TradeOrderEntity, { parentId: { $in: [...ids] } }, { orderBy: { ocoRole: QueryOrder.DESC, id: QueryOrder.ASC } });
        return groupedBy(ids, rows, (row) => row.parentId!).map((group) => group.map(toTradeOrder));
      })
      .load(orderId);
  }

  private byId(ctx: RequestContext) {
    return ctx.loaders.get<string, TradeOrderEntity | null>('tradeOrder.byId', async (ids) => {
      const rows = await ctx.em.find(TradeOrderEntity, { id: { $in: [...ids] } });
      return orderedBy(ids, rows, (row) => row.id);
    });
  }

  private async byClientOrderId(ctx: RequestContext, userId: string, clientOrderId: string, fresh = false): Promise<TradeOrderRecord | null> {
    const em = fresh ? ctx.em.fork() : ctx.em;
    return em.findOne(TradeOrderEntity, { userId, clientOrderId });
  }

  /** The order a clientOrderId already placed; CONFLICT when this request asks for another order under it. */
  private repeated(order: TradeOrderRecord, input: PlaceTradeOrderInput): TradeOrder {
    const same =
      order.accountId === input.accountId.trim().toLowerCase() &&
      order.symbol === input.symbol &&
      order.side === input.side &&
      order.type === input.type &&
      /^\d+(\.\d+)?$/.test(input.quantity) &&
      new Decimal(order.quantity).equals(input.quantity);
    if (!same) throw conflict(`clientOrderId ${input.clientOrderId} already placed a different order (${order.id})`);
    return toTradeOrder(order);
  }

  private async insufficient(ctx: RequestContext, error: InsufficientBalanceError): Promise<AppError> {
    const free = await Promise.all(error.assets.map(async (asset) => ({ asset, free: plain(await freeBalance(ctx.em.fork(), error.accountId, asset)) })));
    const described = free.map((entry) => `${entry.free} ${entry.asset}`).join(', ');
    return new AppError('INSUFFICIENT_BALANCE', `Insufficient balance: the account has ${described} free`, { balances: free });
  }
}
