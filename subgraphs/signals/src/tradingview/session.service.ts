import { AppError, requireViewer, type RequestContext } from '../../../kit/src';
import type { CredentialKeyring } from '../../../kit/src/secrets';
import { parseChartId, parseSessionCookies, sealSessionCookies } from './session.cookies';
import { TradingViewSessionEntity } from './session.entity';
import type { SetTradingViewSessionInput } from './session.input';
import { toTradingViewSession, type TradingViewSession } from './session.type';

export interface TradingViewSessionServiceOptions {
  /** Seals the cookies (SECRETS_KEYS); null when printing SDL: setting a session is then refused. */
  keyring: CredentialKeyring | null;
}

/** The viewer's TradingView session: stored sealed, described without values, removed. */
export class TradingViewSessionService {
  constructor(private readonly options: TradingViewSessionServiceOptions) {}

  async get(ctx: RequestContext): Promise<TradingViewSession> {
    const viewer = requireViewer(ctx.viewer);
    return toTradingViewSession(await ctx.em.findOne(TradingViewSessionEntity, { userId: viewer.id }));
  }

  /** Replaces the viewer's cookies (validated before anything is written); the default chart changes only when given. */
  async set(ctx: RequestContext, input: SetTradingViewSessionInput): Promise<TradingViewSession> {
    const viewer = requireViewer(ctx.viewer);
    const cookies = parseSessionCookies(input.cookies);
    const defaultChartId = input.defaultChartId === null || input.defaultChartId === undefined ? undefined : parseChartId(input.defaultChartId);
    const { keyring } = this.options;
    if (!keyring) throw new AppError('UPSTREAM_UNAVAILABLE', 'TradingView sessions are not enabled on this server');
    const now = new Date();
    const row = await ctx.em.upsert(
      TradingViewSessionEntity,
      {
        userId: viewer.id,
        sealedCookies: sealSessionCookies(keyring, cookies, viewer.id),
        cookieNames: cookies.map((cookie) => cookie.name),
        ...(defaultChartId === undefined ? {} : { defaultChartId }),
        createdAt: now,
        updatedAt: now,
      },
      { onConflictMergeFields: ['sealedCookies', 'cookieNames', 'updatedAt', ...(defaultChartId === undefined ? [] : (['defaultChartId'] as const))] },
    );
    ctx.log.info({ userId: viewer.id, cookieNames: row.cookieNames, defaultChartId: row.defaultChartId }, 'tradingview session set');
    return toTradingViewSession(row);
  }

  /** Forgets the viewer's session; screenshots use our own chart from now on. Clearing twice changes nothing. */
  async clear(ctx: RequestContext): Promise<TradingViewSession> {
    const viewer = requireViewer(ctx.viewer);
    const deleted = await ctx.em.nativeDelete(TradingViewSessionEntity, { userId: viewer.id });
    if (deleted > 0) ctx.log.info({ userId: viewer.id }, 'tradingview session cleared');
    return toTradingViewSession(null);
  }
}
