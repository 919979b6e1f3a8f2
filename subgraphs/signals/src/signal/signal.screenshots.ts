import type { MikroORM } from '@mikro-orm/postgresql';
import { outboxInsertSql } from '../../../kit/src';
import type { SignalAction } from '../ingest/normalize';
import type { Plan } from '../plan/plan';
import type { ScreenshotJobData, ScreenshotResult } from '../screenshots';
import { tradingViewChart } from '../tradingview/session.chart';
import { SIGNAL_SCREENSHOT_READY, SIGNALS_EVENT_SOURCE, type SignalScreenshotReadyData } from './signal.outbox';
import type { SignalUpdates } from './signal.updates';

const MAX_ERROR_LENGTH = 500;

/**
 * Stores what the screenshot worker reports and tells the owner (`signalUpdated`) once it is
 * committed. READY records SignalScreenshotReady in the same statement, only on the change from
 * PENDING or FAILED (a repeated delivery changes nothing); FAILED never overwrites READY. A database
 * failure throws, so the screenshot job retries the delivery.
 */
export async function recordScreenshotResult(orm: MikroORM, updates: SignalUpdates, result: ScreenshotResult): Promise<void> {
  const connection = orm.em.getConnection();
  let changed: { user_id: string }[];
  if (result.status === 'READY') {
    if (!result.file) throw new Error(`screenshot of signal ${result.signalId} is READY without a file`);
    const data: SignalScreenshotReadyData = { signalId: result.signalId, userId: result.userId, file: result.file };
    const outbox = outboxInsertSql(SIGNALS_EVENT_SOURCE, [{ type: SIGNAL_SCREENSHOT_READY, subject: result.signalId, data }], 'u');
    changed = await connection.execute(
      `with "u" as (update "signal" set "screenshot_status" = 'READY', "screenshot_file" = ?, "screenshot_error" = null
                     where "id" = ? and "screenshot_status" <> 'READY' returning "user_id"),
            "e" as (${outbox.sql})
       select "user_id" from "u"`,
      [result.file, result.signalId, ...outbox.params],
    );
  } else {
    changed = await connection.execute(
      `update "signal" set "screenshot_status" = 'FAILED', "screenshot_error" = ? where "id" = ? and "screenshot_status" = 'PENDING' returning "user_id"`,
      [(result.error ?? 'screenshot failed').slice(0, MAX_ERROR_LENGTH), result.signalId],
    );
  }
  for (const row of changed) updates.updated(row.user_id, result.signalId);
}

/** Whether the signal still exists (the screenshot worker asks: an erased user's signals are gone). */
export async function signalExists(orm: MikroORM, signalId: string): Promise<boolean> {
  const rows = await orm.em.getConnection().execute<unknown[]>(`select 1 from "signal" where "id" = ?`, [signalId]);
  return rows.length > 0;
}

interface PendingRow {
  id: string;
  user_id: string;
  plan: Plan;
  symbol: string;
  exchange: string | null;
  timeframe: string | null;
  price: string | null;
  action: SignalAction;
  received_at: Date;
  chart_id: string | null;
  take_profit: string | null;
  stop_loss: string | null;
  tv_sealed_cookies: string | null;
  tv_default_chart_id: string | null;
}

/**
 * Signals whose screenshot has been PENDING for longer than `olderThanMs`, oldest first, as
 * screenshot requests: queueing them again is harmless (one job per signal id) and recovers the
 * ones whose job was never queued (the process stopped between storing and queueing).
 */
export async function staleScreenshotRequests(orm: MikroORM, olderThanMs: number, limit: number): Promise<ScreenshotJobData[]> {
  const rows = await orm.em.getConnection().execute<PendingRow[]>(
    `select s."id", s."user_id", coalesce(p."plan", 'free') as "plan", s."symbol", s."exchange", s."timeframe", s."price"::text, s."action",
            s."received_at", s."chart_id", s."take_profit"::text, s."stop_loss"::text,
            t."sealed_cookies" as "tv_sealed_cookies", t."default_chart_id" as "tv_default_chart_id"
       from "signal" s left join "user_plan" p on p."user_id" = s."user_id"
            left join "tradingview_session" t on t."user_id" = s."user_id"
      where s."screenshot_status" = 'PENDING' and s."received_at" < now() - make_interval(secs => ?)
      order by s."received_at" limit ?`,
    [olderThanMs / 1000, limit],
  );
  return rows.map((row) => ({
    signalId: row.id,
    userId: row.user_id,
    plan: row.plan,
    symbol: row.symbol,
    exchange: row.exchange,
    timeframe: row.timeframe,
    price: row.price,
    action: row.action,
    receivedAt: new Date(row.received_at).toISOString(),
    chartId: row.chart_id,
    takeProfit: row.take_profit,
    stopLoss: row.stop_loss,
    tradingView: tradingViewChart(row.chart_id, row.tv_default_chart_id, row.tv_sealed_cookies),
  }));
}
