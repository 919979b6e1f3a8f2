import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { SignalsConfig } from '../config';
import { hashWebhookToken, passphraseMatches } from '../endpoint/endpoint.secrets';
import { levelPrice, parseLevel } from '../outcome/levels';
import type { SignalWatchList } from '../outcome/outcome.watcher';
import { quotaMonth } from '../plan/plan';
import type { ScreenshotJobData } from '../screenshots';
import { SIGNAL_RECEIVED, type SignalReceivedData } from '../signal/signal.outbox';
import type { SignalUpdates } from '../signal/signal.updates';
import { tradingViewChart } from '../tradingview/session.chart';
import { addressBlock } from './client-ip';
import { parseAlertBody, type ParsedAlert } from './parse';
import type { EndpointRow, IngestStore, SignalRow } from './ingest.store';
import type { RateDecision } from '../../../kit/src';
import { currentTraceparent } from '../../../kit/src/tracing';
import { redactBody } from './redact';

export interface IngestDeps {
  orm: MikroORM;
  /** Endpoint lookups and accepted deliveries, batched across concurrent requests. */
  store: IngestStore;
  config: Pick<SignalsConfig, 'quotas' | 'tradingViewIps' | 'webhookBodyLimitBytes' | 'auditBodyBytes'>;
  updates: SignalUpdates;
  log: Logger;
  /** Counts one request of the token whose sha256 is `tokenHashHex` (unknown tokens too: every request costs the same). */
  rateLimit(tokenHashHex: string): Promise<RateDecision>;
  /**
   * Counts one refusal of `source` (`endpoint:<id>`, or `ip:<address block>` for an unknown token); a
   * source past its allowance is answered the same but not written to the audit log.
   */
  auditAllowance(source: string): Promise<RateDecision>;
  /** Refusals by reason, and whether the audit log kept them. */
  refusals?: Counter<'reason' | 'logged'>;
  /** Told when a delivery's SignalReceived events are committed: the store writes them in one statement, which no ORM commit hook sees, so the relay is woken here. */
  eventsCommitted?(): void;
  /** Queues the chart screenshot of a stored signal (after the reply). */
  enqueueScreenshot(request: ScreenshotJobData): Promise<void>;
  watcher: Pick<SignalWatchList, 'watchSignal'>;
}

export interface DeliveryInput {
  /** The token from the URL path, as sent. */
  token: string;
  body: Buffer;
  contentType: string | undefined;
  /** The client's address (X-Forwarded-For only behind a trusted proxy); null when unknown. */
  remoteIp: string | null;
}

/** What the route answers, and the work that follows the answer (queueing screenshots, publishing). */
export interface WebhookReply {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  after?: () => Promise<void>;
}

/** Why a delivery was refused, as the audit log and the WebhookRefusal type name it. */
export type RefusalReason = 'UNKNOWN_TOKEN' | 'REVOKED' | 'IP_NOT_ALLOWED' | 'BODY_TOO_LARGE' | 'RATE_LIMITED' | 'BAD_ALERT' | 'PASSPHRASE_MISMATCH' | 'QUOTA_EXCEEDED';

const REFUSAL = `insert into "webhook_refusal" ("id", "endpoint_id", "user_id", "status", "reason", "detail", "remote_ip", "content_type", "body", "received_at")
  values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** A refusal as answered and kept in the audit log. */
interface Refusal {
  status: number;
  reason: RefusalReason;
  detail: string | null;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  /** Passphrases the alerts carried, redacted from the audit log's copy of the body. */
  secrets?: (string | null)[];
}

const NOT_FOUND_BODY = { error: 'NOT_FOUND', message: 'No webhook endpoint at this URL' };
/** Judgements of one delivery at most: each after the first follows a change of its endpoint during the one before. */
const MAX_JUDGEMENTS = 3;
/** The endpoint kept changing while the alert was stored (nothing was): TradingView retries a 5xx. */
const ENDPOINT_CHANGED_REPLY: WebhookReply = {
  status: 503,
  body: { error: 'ENDPOINT_CHANGED', message: 'The endpoint changed while the alert was being stored; nothing was stored, retry' },
  headers: { 'retry-after': '1' },
};
/** Compared against when the token names no endpoint, so a miss does the same work as a hit. */
const NO_HASH = Buffer.alloc(32);

/** Postgres text and jsonb cannot hold NUL, which JSON may carry (`\u0000`). */
const noNul = (text: string): string => (text.includes('\u0000') ? text.replaceAll('\u0000', '') : text);
const cut = (value: string | null | undefined, length: number): string | null => (value === null || value === undefined || value === '' ? null : noNul(value).slice(0, length));

/**
 * The webhook's path from request to stored signal. Every refusal is answered with its reason and
 * kept in the audit log (never as a signal), up to `AUDIT_REFUSALS_PER_MINUTE` per source. An
 * accepted alert is committed before the answer, in a transaction it shares with concurrent
 * deliveries (`IngestStore`: dedup claim, quota, signals, outbox); screenshots, subscriptions and
 * the outcome watcher hear about it after the answer. The endpoint may come from memory: the write
 * checks it is unchanged, and a refusal or a stale write is judged again on the database's endpoint.
 */
export class IngestService {
  private readonly tradingViewIps: ReadonlySet<string>;

  constructor(private readonly deps: IngestDeps) {
    this.tradingViewIps = new Set(deps.config.tradingViewIps);
  }

  async receive(input: DeliveryInput): Promise<WebhookReply> {
    const tokenHash = hashWebhookToken(input.token);
    // The token's rate is counted while its endpoint is looked up: the answer waits on one round trip, not two.
    const [lookup, rate] = await Promise.all([this.deps.store.endpoint(tokenHash), this.deps.rateLimit(tokenHash.toString('hex'))]);
    let { row: endpoint, fromMemory } = lookup;
    for (let judgement = 1; ; judgement += 1) {
      const verdict = this.judge(input, tokenHash, endpoint, rate);
      if ('refusal' in verdict) {
        // Refusals are decided on the endpoint as the database has it, never on memory's copy.
        if (!fromMemory) return this.refuse(input, endpoint, verdict.refusal);
      } else {
        const reply = await this.store(input, endpoint!, verdict.alerts, verdict.secrets);
        if (reply) return reply;
        if (judgement === MAX_JUDGEMENTS) return ENDPOINT_CHANGED_REPLY;
      }
      endpoint = await this.deps.store.freshEndpoint(tokenHash);
      fromMemory = false;
    }
  }

  /** Whether the endpoint takes the delivery, and its alerts if so. Unknown and revoked tokens cost one hash, one indexed lookup and one comparison alike. */
  private judge(input: DeliveryInput, tokenHash: Buffer, endpoint: EndpointRow | null, rate: RateDecision): { refusal: Refusal } | { alerts: ParsedAlert[]; secrets: (string | null)[] } {
    const known = timingSafeEqual(endpoint?.token_hash ?? NO_HASH, tokenHash) && endpoint !== null;
    if (!known || !endpoint) return { refusal: { status: 404, reason: 'UNKNOWN_TOKEN', detail: null, body: NOT_FOUND_BODY } };
    if (endpoint.revoked) return { refusal: { status: 404, reason: 'REVOKED', detail: null, body: NOT_FOUND_BODY } };
    if (endpoint.tradingview_ips_only && (input.remoteIp === null || !this.tradingViewIps.has(input.remoteIp))) {
      return {
        refusal: {
          status: 403,
          reason: 'IP_NOT_ALLOWED',
          detail: `${input.remoteIp ?? 'unknown'} is not a TradingView webhook address`,
          body: { error: 'IP_NOT_ALLOWED', message: 'This endpoint accepts requests from TradingView\'s webhook addresses only' },
        },
      };
    }
    const { webhookBodyLimitBytes } = this.deps.config;
    if (input.body.length > webhookBodyLimitBytes) {
      return {
        refusal: {
          status: 413,
          reason: 'BODY_TOO_LARGE',
          detail: `${input.body.length} bytes`,
          body: { error: 'BODY_TOO_LARGE', message: `An alert body may have at most ${webhookBodyLimitBytes} bytes` },
        },
      };
    }
    if (!rate.allowed) {
      return {
        refusal: {
          status: 429,
          reason: 'RATE_LIMITED',
          detail: null,
          body: { error: 'RATE_LIMITED', message: `Too many alerts on this endpoint; retry in ${rate.retryAfterSeconds} s`, retryAfterSeconds: rate.retryAfterSeconds },
          headers: { 'retry-after': String(rate.retryAfterSeconds) },
        },
      };
    }
    const parsed = parseAlertBody(input.body, input.contentType, { maxBytes: webhookBodyLimitBytes });
    if (!parsed.ok) {
      return { refusal: { status: 400, reason: 'BAD_ALERT', detail: parsed.reason, body: { error: 'BAD_ALERT', reason: parsed.reason, format: parsed.format } } };
    }
    const secrets = parsed.alerts.map((alert) => alert.passphrase);
    if (endpoint.passphrase_salt && endpoint.passphrase_hash) {
      const { passphrase_salt: salt, passphrase_hash: hash } = endpoint;
      if (!parsed.alerts.every((alert) => passphraseMatches(alert.passphrase, salt, hash))) {
        return {
          refusal: {
            status: 401,
            reason: 'PASSPHRASE_MISMATCH',
            detail: null,
            body: { error: 'PASSPHRASE_MISMATCH', message: 'The alert must carry this endpoint\'s passphrase' },
            secrets,
          },
        };
      }
    }
    return { alerts: parsed.alerts, secrets };
  }

  /** Stores an accepted delivery and answers it; null when the endpoint changed since it was judged (nothing written). */
  private async store(input: DeliveryInput, endpoint: EndpointRow, alerts: ParsedAlert[], secrets: (string | null)[]): Promise<WebhookReply | null> {
    const now = new Date();
    const receivedAt = now.toISOString();
    const rows = alerts.map((alert) => this.signalRow(alert, endpoint, receivedAt));
    const traceparent = currentTraceparent();
    const events = rows.map((row) => {
      const data: SignalReceivedData = {
        signalId: row.id,
        userId: endpoint.user_id,
        endpointId: endpoint.id,
        symbol: row.symbol,
        ticker: row.ticker,
        exchange: row.exchange,
        action: row.action,
        price: row.price,
        timeframe: row.timeframe,
        indicator: row.indicator,
        receivedAt,
      };
      return { id: randomUUID(), type: SIGNAL_RECEIVED, occurred_at: receivedAt, subject: row.id, data, traceparent };
    });
    const { month, resetsAt } = quotaMonth(now);
    const limit = this.deps.config.quotas[endpoint.plan];
    // A retry is the same body on the same endpoint: TradingView resends it unchanged.
    const key = createHash('sha256').update(endpoint.id).update('\n').update(input.body).digest();
    const stored = await this.deps.store.store({ key, endpointId: endpoint.id, endpointState: endpoint.state, userId: endpoint.user_id, month, limit, signals: rows, events });
    if (stored.outcome === 'STALE') return null;
    if (stored.outcome === 'QUOTA_EXCEEDED') {
      const { used } = stored;
      return this.refuse(input, endpoint, {
        status: 429,
        reason: 'QUOTA_EXCEEDED',
        detail: `${used} of ${limit} signals used this month on plan ${endpoint.plan}`,
        body: {
          error: 'QUOTA_EXCEEDED',
          message: `The ${endpoint.plan} plan allows ${limit} signals a month and ${used} were used; ${rows.length > 1 ? `these ${rows.length} alerts do` : 'this alert does'} not fit. The count starts again at ${resetsAt.toISOString()}.`,
          plan: endpoint.plan,
          limit,
          used,
          resetsAt: resetsAt.toISOString(),
        },
        secrets,
      });
    }
    if (stored.outcome === 'DUPLICATE') return { status: 200, body: { ok: true, duplicate: true, signals: stored.signalIds } };
    this.deps.eventsCommitted?.();
    return {
      status: 200,
      body: { ok: true, duplicate: false, signals: stored.signalIds },
      after: () => this.announce(endpoint, rows),
    };
  }

  /** After the answer: subscribers, the outcome watcher and the screenshot queue hear about the new signals. */
  private async announce(endpoint: EndpointRow, rows: SignalRow[]): Promise<void> {
    for (const row of rows) {
      this.deps.updates.received(endpoint.user_id, row.id);
      this.deps.watcher.watchSignal({ id: row.id, userId: endpoint.user_id, symbol: row.symbol, action: row.action, price: row.price, takeProfit: row.take_profit, stopLoss: row.stop_loss });
    }
    await Promise.all(
      rows.map((row) =>
        this.deps
          .enqueueScreenshot({
            signalId: row.id,
            userId: endpoint.user_id,
            plan: endpoint.plan,
            symbol: row.symbol,
            exchange: row.exchange,
            timeframe: row.timeframe,
            price: row.price,
            action: row.action,
            receivedAt: row.received_at,
            chartId: row.chart_id,
            takeProfit: row.take_profit,
            stopLoss: row.stop_loss,
            tradingView: tradingViewChart(row.chart_id, endpoint.tv_default_chart_id, endpoint.tv_sealed_cookies),
          })
          // The sweep queues it again later (pending screenshots with no job).
          .catch((error: unknown) => this.deps.log.warn({ err: error, signalId: row.id }, 'screenshot not queued')),
      ),
    );
  }

  private signalRow(alert: ParsedAlert, endpoint: EndpointRow, receivedAt: string): SignalRow {
    const { action, price } = alert;
    return {
      id: randomUUID(),
      indicator: cut(alert.indicator ?? endpoint.default_indicator, 200),
      ticker: alert.ticker.slice(0, 100),
      exchange: cut(alert.exchange ?? endpoint.default_exchange, 50),
      symbol: alert.symbol.slice(0, 100),
      price,
      signal_type: cut(alert.signalType, 50),
      action,
      timeframe: cut(alert.timeframe ?? endpoint.default_timeframe, 10),
      chart_id: cut(alert.chartId, 100),
      take_profit: levelPrice(parseLevel(alert.takeProfit ?? endpoint.default_take_profit), 'takeProfit', action, price),
      stop_loss: levelPrice(parseLevel(alert.stopLoss ?? endpoint.default_stop_loss), 'stopLoss', action, price),
      quantity: cut(alert.quantity, 50),
      alert_time: alert.alertTime,
      extra: Object.keys(alert.extra).length > 0 ? Object.fromEntries(Object.entries(alert.extra).map(([key, value]) => [noNul(key), typeof value === 'string' ? noNul(value) : value])) : null,
      message: alert.message === null ? null : noNul(alert.message),
      received_at: receivedAt,
    };
  }

  /** Answers a refusal after keeping it in the audit log (body cut short, secrets redacted). */
  private async refuse(input: DeliveryInput, endpoint: EndpointRow | null, refusal: Refusal): Promise<WebhookReply> {
    const { status, reason, detail, body, headers = {}, secrets = [] } = refusal;
    const { allowed: logged } = await this.deps.auditAllowance(endpoint ? `endpoint:${endpoint.id}` : `ip:${input.remoteIp ? addressBlock(input.remoteIp) : 'unknown'}`);
    this.deps.refusals?.inc({ reason, logged: String(logged) });
    if (!logged) return { status, body, headers };
    try {
      await this.deps.orm.em.getConnection().execute(REFUSAL, [
        randomUUID(),
        endpoint?.id ?? null,
        endpoint?.user_id ?? null,
        status,
        reason,
        cut(detail, 500),
        cut(input.remoteIp, 64),
        cut(input.contentType, 100),
        noNul(redactBody(input.body, this.deps.config.auditBodyBytes, secrets)),
        new Date(),
      ]);
    } catch (error) {
      // The refusal stands without its audit row.
      this.deps.log.error({ err: error, reason }, 'webhook refusal not recorded');
    }
    return { status, body, headers };
  }
}
