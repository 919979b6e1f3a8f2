import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import type { EventEnvelope, EventJobData } from '../../kit/src/events';
import { eventQueue, jobSettled, REDIS_URL, testEnvelope } from '../../kit/src/events/testing';
import { SCREENSHOT_QUEUE, screenshotFile, type ScreenshotJobOutcome } from '../src/screenshots';
import { recordScreenshotResult } from '../src/signal/signal.screenshots';
import { buyAlert, startSignals, type SignalsHarness } from './support/harness';
import { deferred, eventually, jobData } from './support/screenshots';

jest.setTimeout(60_000);

const ALICE = '0a11ce00-0000-4000-8000-0000000000d1';
const BOB = '0b0b0000-0000-4000-8000-0000000000d2';
const CAROL = '0ca40100-0000-4000-8000-0000000000d3';
const NEVER_SEEN = '0eee0000-0000-4000-8000-0000000000d4';

const SET_SESSION = `mutation($input: SetTradingViewSessionInput!) { setTradingViewSession(input: $input) { connected } }`;
/** Every table that holds rows of a user, with how to find them. */
const USER_ROWS = {
  webhook_endpoint: `"user_id" = ?`,
  signal: `"user_id" = ?`,
  signal_usage: `"user_id" = ?`,
  user_plan: `"user_id" = ?`,
  tradingview_session: `"user_id" = ?`,
  webhook_refusal: `"user_id" = ?`,
  alert_dedup: `"endpoint_id" in (select "id" from "webhook_endpoint" where "user_id" = ?)`,
} as const;

const userDeleted = (userId: string): EventEnvelope => testEnvelope('UserDeleted', 'users', userId, { userId, deletedAt: new Date().toISOString() });

describe('UserDeleted: signals erases the user', () => {
  let h: SignalsHarness;
  let events: Queue<EventJobData>;
  let screenshotJobs: Queue<unknown, ScreenshotJobOutcome>;

  interface Seeded {
    webhookToken: string;
    signalIds: string[];
  }
  const seeded: Record<string, Seeded> = {};

  const rowCounts = async (userId: string): Promise<Record<string, number>> => {
    const counts: Record<string, number> = {};
    for (const [table, where] of Object.entries(USER_ROWS)) {
      counts[table] = (await h.sql<{ n: number }>(`select count(*)::int as "n" from "${table}" where ${where}`, [userId]))[0]!.n;
    }
    return counts;
  };
  const fileOf = (signalId: string) => path.join(h.screenshotDir, screenshotFile(signalId));

  /** Delivers an event through the signals queue and waits until the consumer settled it. */
  async function consume(envelope: EventEnvelope, jobId = envelope.id, outcome: 'completed' | 'failed' = 'completed') {
    const settled = jobSettled(h.server.eventing!.consumer!.worker, outcome, jobId);
    await events.add(envelope.type, envelope, { jobId, attempts: 5 });
    return settled;
  }

  /** An endpoint, plan, TradingView session, two watched signals (one with its PNG on disk), usage, a dedup claim and a refusal. */
  async function seed(userId: string, ticker: string): Promise<Seeded> {
    const token = await h.token(userId);
    await h.apply(h.envelope('PlanChanged', { userId, productId: 'p', sku: 'PLAN-PRO', plan: 'PRO' }));
    const session = await h.request(SET_SESSION, { input: { cookies: `sessionid=s${randomBytes(8).toString('hex')}; sessionid_sign=v${randomBytes(8).toString('hex')}`, defaultChartId: 'Abc123' } }, token);
    expect(session.errors).toBeUndefined();
    const endpoint = await h.endpoint(token, { defaults: { takeProfit: '2%', stopLoss: '1%' } });
    const signalIds: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const delivered = await h.deliver(endpoint.token, buyAlert({ ticker }));
      expect(delivered.status).toBe(200);
      signalIds.push(delivered.body.signals[0]);
    }
    expect((await h.deliver(endpoint.token, 'not an alert', { contentType: 'text/plain' })).status).toBe(400);
    const shot = signalIds[0]!;
    writeFileSync(fileOf(shot), 'png');
    await recordScreenshotResult(h.server.orm, h.server.updates, { signalId: shot, userId, status: 'READY', file: screenshotFile(shot), attempts: 1 });
    // Queued after the webhook answered, sealed TradingView session in their data.
    for (const id of signalIds) expect((await eventually(() => screenshotJobs.getJob(id), 'the screenshot job'))!.data).toMatchObject({ userId, tradingView: { chartId: 'Abc123' } });
    return { webhookToken: endpoint.token, signalIds };
  }

  beforeAll(async () => {
    h = await startSignals({ workers: true, env: { SCREENSHOT_WORKERS: 'false', SECRETS_KEYS: `k1:${randomBytes(32).toString('base64')}` } });
    events = eventQueue('signals', h.prefix);
    screenshotJobs = new Queue(SCREENSHOT_QUEUE, { connection: { url: REDIS_URL }, prefix: h.prefix });
    seeded[ALICE] = await seed(ALICE, 'ETHUSDT');
    seeded[BOB] = await seed(BOB, 'BTCUSDT');
    await eventually(() => h.server.watcher!.watching('ETH/USDT') === 2 && h.server.watcher!.watching('BTC/USDT') === 2, 'the signals watched');
  });

  afterAll(async () => {
    await screenshotJobs?.close();
    await events?.close();
    await h?.close();
  });

  it('erases the user\'s endpoints, signals, PNGs, screenshot jobs, session, usage, plan and refusals, and nothing of others', async () => {
    const alice = seeded[ALICE]!;
    const bob = seeded[BOB]!;
    const bobBefore = await rowCounts(BOB);
    expect(await rowCounts(ALICE)).toEqual(bobBefore);
    expect(Object.values(bobBefore).every((count) => count > 0)).toBe(true);

    const { result } = await consume(userDeleted(ALICE));
    expect(result).toBe('processed');

    expect(Object.values(await rowCounts(ALICE)).every((count) => count === 0)).toBe(true);
    expect(await h.sql(`select 1 from "erased_user" where "user_id" = ?`, [ALICE])).toHaveLength(1);
    expect(existsSync(fileOf(alice.signalIds[0]!))).toBe(false);
    for (const id of alice.signalIds) expect(await screenshotJobs.getJob(id)).toBeUndefined();
    expect(h.server.watcher!.watching('ETH/USDT')).toBe(0);

    // The webhook URL answers like one that never existed.
    const unknown = await h.deliver(randomBytes(24).toString('base64url'), buyAlert({ ticker: 'ETHUSDT' }));
    const erased = await h.deliver(alice.webhookToken, buyAlert({ ticker: 'ETHUSDT' }));
    expect(unknown.status).toBe(404);
    expect({ status: erased.status, body: erased.body }).toEqual({ status: unknown.status, body: unknown.body });
    expect(await rowCounts(ALICE)).toMatchObject({ signal: 0, signal_usage: 0, webhook_refusal: 0 });

    // Bob keeps everything, and his webhook still works.
    expect(await rowCounts(BOB)).toEqual(bobBefore);
    expect(existsSync(fileOf(bob.signalIds[0]!))).toBe(true);
    for (const id of bob.signalIds) expect(await screenshotJobs.getJob(id)).toBeDefined();
    expect(h.server.watcher!.watching('BTC/USDT')).toBe(2);
    expect((await h.deliver(bob.webhookToken, buyAlert({ ticker: 'BTCUSDT' }))).status).toBe(200);
  });

  it('treats a redelivery, a repeated event and a user it never saw as done', async () => {
    const envelope = userDeleted(BOB);
    expect((await consume(envelope)).result).toBe('processed');
    const afterFirst = await h.sql(`select "user_id", "erased_at" from "erased_user" order by "user_id"`);
    expect((await consume(envelope, `${envelope.id}-again`)).result).toBe('duplicate');
    // The same deletion told twice (a new event id): nothing left to erase, the tombstone unchanged.
    expect((await consume(userDeleted(BOB))).result).toBe('processed');
    expect(Object.values(await rowCounts(BOB)).every((count) => count === 0)).toBe(true);
    expect(await h.sql(`select "user_id", "erased_at" from "erased_user" order by "user_id"`)).toEqual(afterFirst);
    expect((await consume(userDeleted(NEVER_SEEN))).result).toBe('processed');
  });

  it('fails a malformed UserDeleted at once, erasing nothing', async () => {
    const token = await h.token(CAROL);
    await h.endpoint(token);
    for (const data of [{ userId: 'not-a-uuid', deletedAt: new Date().toISOString() }, { userId: CAROL }, { deletedAt: new Date().toISOString() }]) {
      const envelope = { ...userDeleted(CAROL), data };
      const { job, result } = await consume(envelope, envelope.id, 'failed');
      expect(job.attemptsMade).toBe(1);
      expect(String(result)).toMatch(/no valid userId and deletedAt/);
      expect(await (await events.getJob(envelope.id))!.getState()).toBe('failed');
    }
    expect((await rowCounts(CAROL)).webhook_endpoint).toBe(1);
    expect(await h.sql(`select 1 from "erased_user" where "user_id" = ?`, [CAROL])).toHaveLength(0);
  });

  it('does not let a late PlanChanged recreate an erased user\'s plan', async () => {
    const late = h.envelope('PlanChanged', { userId: ALICE, productId: 'p', sku: 'PLAN-PREMIUM', plan: 'PREMIUM' }, new Date(Date.now() + 60_000));
    expect((await consume(late)).result).toBe('processed');
    expect(await h.sql(`select 1 from "user_plan" where "user_id" = ?`, [ALICE])).toHaveLength(0);
    // Others' plans still change.
    expect((await consume(h.envelope('PlanChanged', { userId: CAROL, productId: 'p', sku: 'PLAN-PREMIUM', plan: 'PREMIUM' }))).result).toBe('processed');
    expect(await h.sql(`select "plan" from "user_plan" where "user_id" = ?`, [CAROL])).toEqual([{ plan: 'premium' }]);
  });
});

/** Answers candle requests with no candles once `release()` is called; `arrived` resolves at the first request. */
async function startHeldTrading() {
  const gate = deferred();
  const arrived = deferred();
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests += 1;
    arrived.resolve();
    req.resume();
    void gate.promise.then(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { candles: [] } })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    arrived: arrived.promise,
    release: () => gate.resolve(),
    requests: () => requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('UserDeleted and the screenshot worker (Chromium)', () => {
  let h: SignalsHarness;
  let trading: Awaited<ReturnType<typeof startHeldTrading>>;
  let events: Queue<EventJobData>;
  let screenshotJobs: Queue<unknown, ScreenshotJobOutcome>;
  let finished: QueueEvents;

  beforeAll(async () => {
    trading = await startHeldTrading();
    // One attempt, and the chart page waits for the held candles instead of drawing a placeholder meanwhile.
    h = await startSignals({ workers: true, env: { TRADING_URL: trading.url, SCREENSHOT_ATTEMPTS: '1', SCREENSHOT_CANDLES_TIMEOUT_MS: '30000', SCREENSHOT_TIMEOUT_MS: '45000' } });
    events = eventQueue('signals', h.prefix);
    screenshotJobs = new Queue(SCREENSHOT_QUEUE, { connection: { url: REDIS_URL }, prefix: h.prefix });
    finished = new QueueEvents(SCREENSHOT_QUEUE, { connection: { url: REDIS_URL }, prefix: h.prefix });
    await finished.waitUntilReady();
  });

  afterAll(async () => {
    trading?.release();
    await finished?.close();
    await screenshotJobs?.close();
    await events?.close();
    await h?.close();
    await trading?.close();
  });

  const leftovers = (signalId: string) => readdirSync(h.screenshotDir).filter((name) => name.includes(signalId));

  it('drops the PNG of a signal erased while its screenshot was being taken', async () => {
    const endpoint = await h.endpoint(await h.token(CAROL));
    const signalId: string = (await h.deliver(endpoint.token, buyAlert())).body.signals[0];
    // The worker is drawing the chart: its candles are held.
    await trading.arrived;
    const deleted = userDeleted(CAROL);
    const settled = jobSettled(h.server.eventing!.consumer!.worker, 'completed', deleted.id);
    await events.add(deleted.type, deleted, { jobId: deleted.id });
    expect((await settled).result).toBe('processed');
    const job = await screenshotJobs.getJob(signalId);
    // Running, so the erasure could not remove it.
    expect(await job!.getState()).toBe('active');

    trading.release();
    expect(await job!.waitUntilFinished(finished)).toEqual({ signalId, status: 'DISCARDED', attempts: 1 });
    expect(leftovers(signalId)).toEqual([]);
    expect(await h.sql(`select 1 from "signal" where "id" = ?`, [signalId])).toHaveLength(0);
    expect(await h.sql(`select 1 from "outbox" where "type" = 'SignalScreenshotReady' and "subject" = ?`, [signalId])).toHaveLength(0);
  });

  it('ends a job queued for an erased signal without a shot', async () => {
    // As the sweep or a delivery racing the erasure could queue it.
    const data = jobData({ userId: CAROL });
    const requests = trading.requests();
    await h.server.screenshots.enqueue(data);
    const job = await eventually(() => screenshotJobs.getJob(data.signalId), 'the job');
    expect(await job!.waitUntilFinished(finished)).toEqual({ signalId: data.signalId, status: 'DISCARDED', attempts: 1 });
    expect(trading.requests()).toBe(requests);
    expect(leftovers(data.signalId)).toEqual([]);
  });
});
