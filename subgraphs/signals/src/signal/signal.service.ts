import { LockMode, QueryOrder, type FilterQuery } from '@mikro-orm/core';
import { badInput, decodeCursor, encodeCursor, forbidden, isUuid, notFound, recordEvent, type RequestContext, requireUuid, requireViewer } from '../../../kit/src';
import type { SignalsConfig } from '../config';
import { quotaMonth, type Plan } from '../plan/plan';
import { UserPlanEntity } from '../plan/plan.entity';
import type { SignalWatchList } from '../outcome/outcome.watcher';
import { DEFAULT_SIGNALS_PAGE, type SignalFilter } from './signal.input';
import { SignalEntity } from './signal.entity';
import { SIGNAL_RESOLVED, SIGNALS_EVENT_SOURCE, type SignalResolvedData } from './signal.outbox';
import { ScreenshotStatus, SignalResult, toSignal, type Signal, type SignalConnection, type SignalScreenshot, type SignalStats } from './signal.type';
import type { SignalUpdates } from './signal.updates';

export interface SignalServiceOptions {
  maxPage: number;
  quotas: SignalsConfig['quotas'];
  updates: SignalUpdates;
  /** A signed URL of a screenshot file (the screenshot service's); null while none is wired (printing SDL). */
  signedUrl: ((file: string) => string) | null;
  /** Told when a manual mark opens or closes a signal; null when printing SDL. */
  watcher: SignalWatchList | null;
}

export interface PageArgs {
  filter?: SignalFilter | null;
  first?: number | null;
  after?: string | null;
}

/** Reads and manual changes of signals; every read is limited to the viewer's own signals. */
export class SignalService {
  constructor(private readonly options: SignalServiceOptions) {}

  /** The viewer's signals, newest first. */
  list(ctx: RequestContext, args: PageArgs): Promise<SignalConnection> {
    const viewer = requireViewer(ctx.viewer);
    return this.page(ctx, viewer.id, args, {});
  }

  /** `User.signals`: only for the user themself (FORBIDDEN for anyone else, admins included: signals are private). */
  ofUser(ctx: RequestContext, userId: string, args: PageArgs): Promise<SignalConnection> {
    const viewer = requireViewer(ctx.viewer);
    if (viewer.id !== userId) throw forbidden('Only the user themself sees their signals');
    return this.page(ctx, viewer.id, args, {});
  }

  /** `Instrument.signals`: the viewer's signals on that symbol. */
  onInstrument(ctx: RequestContext, symbol: string, args: PageArgs): Promise<SignalConnection> {
    const viewer = requireViewer(ctx.viewer);
    return this.page(ctx, viewer.id, args, { symbol });
  }

  private async page(ctx: RequestContext, userId: string, args: PageArgs, fixed: FilterQuery<SignalEntity> & object): Promise<SignalConnection> {
    const max = this.options.maxPage;
    const size = args.first ?? Math.min(DEFAULT_SIGNALS_PAGE, max);
    if (!Number.isInteger(size) || size < 1 || size > max) throw badInput(`first must be between 1 and ${max}`, 'first');
    const conditions: FilterQuery<SignalEntity>[] = [{ userId }, fixed, ...filterConditions(args.filter)];
    if (args.after) {
      const position = decodeCursor(args.after);
      conditions.push({ $or: [{ receivedAt: { $lt: position.at } }, { receivedAt: position.at, id: { $lt: position.id } }] });
    }
    const rows = await ctx.em.find(SignalEntity, { $and: conditions }, { orderBy: [{ receivedAt: QueryOrder.DESC }, { id: QueryOrder.DESC }], limit: size + 1 });
    const edges = rows.slice(0, size).map((row) => ({ cursor: encodeCursor({ at: row.receivedAt, id: row.id }), node: toSignal(row) }));
    return {
      edges,
      pageInfo: {
        hasNextPage: rows.length > size,
        hasPreviousPage: Boolean(args.after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
    };
  }

  /** One of the viewer's signals; NOT_FOUND for an unknown id and for another user's signal alike. */
  async one(ctx: RequestContext, rawId: string): Promise<Signal> {
    const viewer = requireViewer(ctx.viewer);
    const id = requireUuid(rawId);
    const signal = await this.ownedLoader(ctx).load(id);
    if (!signal || signal.userId !== viewer.id) throw notFound('Signal', id);
    return signal;
  }

  /** `_entities` for Signal: the viewer's own, null for anyone else's (and for anonymous callers). */
  async reference(ctx: RequestContext, id: string): Promise<Signal | null> {
    if (!ctx.viewer || !isUuid(id)) return null;
    const signal = await this.ownedLoader(ctx).load(id.toLowerCase());
    return signal && signal.userId === ctx.viewer.id ? signal : null;
  }

  /** The signal as it is now, for subscription messages (the viewer's own only). */
  async current(ctx: RequestContext, id: string): Promise<Signal> {
    const viewer = requireViewer(ctx.viewer);
    const row = await ctx.em.fork().findOne(SignalEntity, { id, userId: viewer.id });
    if (!row) throw notFound('Signal', id);
    return toSignal(row);
  }

  private ownedLoader(ctx: RequestContext) {
    return ctx.loaders.get<string, Signal | null>('signalById', async (ids) => {
      const rows = await ctx.em.find(SignalEntity, { id: { $in: [...ids] } });
      const byId = new Map(rows.map((row) => [row.id, toSignal(row)]));
      return ids.map((id) => byId.get(id) ?? null);
    });
  }

  screenshot(signal: Signal): SignalScreenshot {
    const status = signal.screenshotStatus as ScreenshotStatus;
    const url = status === ScreenshotStatus.READY && signal.screenshotFile && this.options.signedUrl ? this.options.signedUrl(signal.screenshotFile) : null;
    return { status, url, error: status === ScreenshotStatus.FAILED ? signal.screenshotError : null };
  }

  async stats(ctx: RequestContext): Promise<SignalStats> {
    const viewer = requireViewer(ctx.viewer);
    const now = new Date();
    const { month, resetsAt } = quotaMonth(now);
    const [row] = await ctx.em.execute<{ total: number; this_month: number; pending: number; wins: number; losses: number }[]>(
      `select count(*)::int as "total",
              count(*) filter (where "received_at" >= ?)::int as "this_month",
              count(*) filter (where "screenshot_status" = 'PENDING')::int as "pending",
              count(*) filter (where "result" = 'WIN')::int as "wins",
              count(*) filter (where "result" = 'LOSS')::int as "losses"
         from "signal" where "user_id" = ?`,
      [new Date(`${month}T00:00:00Z`), viewer.id],
    );
    const plan = await this.planOf(ctx, viewer.id);
    const wins = row?.wins ?? 0;
    const losses = row?.losses ?? 0;
    return {
      total: row?.total ?? 0,
      thisMonth: row?.this_month ?? 0,
      screenshotsPending: row?.pending ?? 0,
      wins,
      losses,
      winRate: wins + losses === 0 ? null : ((wins * 100) / (wins + losses)).toFixed(2),
      plan,
      monthlyQuota: this.options.quotas[plan],
      quotaResetsAt: resetsAt,
    };
  }

  private async planOf(ctx: RequestContext, userId: string): Promise<Plan> {
    const row = await ctx.em.findOne(UserPlanEntity, { userId });
    return row?.plan ?? 'free';
  }

  /**
   * The owner sets the result by hand (WIN, LOSS, SKIP, or PENDING to reopen) and the notes. A
   * changed WIN, LOSS or SKIP records SignalResolved; a result set by hand drops the exit price and
   * profit the price feed gave, unless it is the same result.
   */
  async markResult(ctx: RequestContext, rawId: string, result: SignalResult, notes: string | null | undefined): Promise<Signal> {
    const viewer = requireViewer(ctx.viewer);
    const id = requireUuid(rawId);
    const updated = await ctx.em.transactional(async (tx) => {
      const signal = await tx.findOne(SignalEntity, { id, userId: viewer.id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!signal) throw notFound('Signal', id);
      const changed = signal.result !== result;
      if (notes !== undefined) signal.notes = notes === null || notes.trim() === '' ? null : notes;
      if (changed) {
        signal.result = result;
        signal.exitPrice = null;
        signal.profitLoss = null;
        signal.resolvedAt = result === SignalResult.PENDING ? null : new Date();
        if (result !== SignalResult.PENDING) {
          const data: SignalResolvedData = {
            signalId: signal.id,
            userId: signal.userId,
            result,
            exitPrice: null,
            profitLoss: null,
            manual: true,
            resolvedAt: signal.resolvedAt!.toISOString(),
          };
          recordEvent(tx, SIGNALS_EVENT_SOURCE, SIGNAL_RESOLVED, signal.id, data as unknown as Record<string, unknown>);
        }
      }
      return { signal, changed };
    });
    if (updated.changed) {
      if (result === SignalResult.PENDING) this.options.watcher?.watchSignal(updated.signal);
      else this.options.watcher?.forget(updated.signal.id, updated.signal.symbol);
    }
    this.options.updates.updated(viewer.id, id);
    ctx.log.info({ signalId: id, result }, 'signal marked by its owner');
    return toSignal(updated.signal);
  }
}

function filterConditions(filter: SignalFilter | null | undefined): FilterQuery<SignalEntity>[] {
  if (!filter) return [];
  const conditions: FilterQuery<SignalEntity>[] = [];
  if (filter.symbol) conditions.push({ symbol: filter.symbol.trim().toUpperCase() });
  if (filter.action) conditions.push({ action: filter.action });
  if (filter.result) conditions.push({ result: filter.result });
  if (filter.endpointId) conditions.push({ endpointId: requireUuid(filter.endpointId, 'filter.endpointId') });
  if (filter.receivedAfter) conditions.push({ receivedAt: { $gte: filter.receivedAfter } });
  if (filter.receivedBefore) conditions.push({ receivedAt: { $lt: filter.receivedBefore } });
  return conditions;
}
