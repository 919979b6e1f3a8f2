import { Queue } from 'bullmq';
import { REDIS_URL } from '../../kit/src/events/testing';
import { queueJobsOnMetrics } from '../../kit/src/testing';
import { SCREENSHOT_QUEUE } from '../src/screenshots';
import { recordScreenshotResult } from '../src/signal/signal.screenshots';
import { updatedTopic } from '../src/signal/signal.updates';
import { buyAlert, SIGNAL, startSignals, type SignalsHarness } from './support/harness';
import { eventually } from './support/screenshots';
import { record, wsClient } from './support/ws';

const ALICE = '0a11ce00-0000-4000-8000-000000000061';
const PAT = '0ba70000-0000-4000-8000-000000000062';

/** What signals does with the screenshot queue and the worker's reports (the worker itself is tested with Chromium in screenshots.int.test.ts), and the maintenance sweep. */
describe('screenshots of signals, and the maintenance sweep', () => {
  let h: SignalsHarness;
  let alice: string;
  let token: string;
  let jobs: Queue;

  beforeAll(async () => {
    h = await startSignals();
    alice = await h.token(ALICE);
    token = (await h.endpoint(alice)).token;
    jobs = new Queue(SCREENSHOT_QUEUE, { connection: { url: REDIS_URL }, prefix: h.prefix });
  });

  afterAll(async () => {
    await jobs?.close();
    await h?.close();
  });

  const newSignal = async (): Promise<string> => (await h.deliver(token, buyAlert())).body.signals[0];
  const readyEvents = (id: string) => h.sql(`select 1 from "outbox" where "type" = 'SignalScreenshotReady' and "subject" = ?`, [id]);

  it('queues one screenshot job per new signal, premium plans ahead of free ones', async () => {
    const id = await newSignal();
    await h.apply(h.envelope('PlanChanged', { userId: PAT, productId: 'p', sku: 'PLAN-PREMIUM', plan: 'PREMIUM' }));
    const premium = (await h.deliver((await h.endpoint(await h.token(PAT))).token, buyAlert())).body.signals[0];
    // Jobs are queued after the webhook answers.
    const [freeJob, premiumJob] = await Promise.all([eventually(() => jobs.getJob(id), 'the free job'), eventually(() => jobs.getJob(premium), 'the premium job')]);
    expect(freeJob!.data).toMatchObject({ signalId: id, userId: ALICE, plan: 'free' });
    expect(premiumJob!.data).toMatchObject({ signalId: premium, userId: PAT, plan: 'premium' });
    // BullMQ runs lower priorities first.
    expect(premiumJob!.opts.priority).toBeLessThan(freeJob!.opts.priority!);
    const stats = await h.server.screenshots.stats();
    expect(stats.waiting + stats.prioritized).toBeGreaterThanOrEqual(1);
    const health = (await (await fetch(`${h.baseUrl}/health`)).json()) as Record<string, any>;
    expect(health).toMatchObject({ status: 'ok', service: 'signals', screenshots: { queued: expect.any(Number), active: 0, workers: 0 } });
    expect(health.screenshots.queued).toBeGreaterThanOrEqual(2);
    // /metrics has the same backlog (an API replica's too: what scaling screenshot workers reads).
    const metrics = { metrics: async () => (await fetch(`${h.baseUrl}/metrics`)).text() };
    expect((await queueJobsOnMetrics(metrics, 'signals-screenshots')).prioritized).toBe(health.screenshots.queued);
  });

  it('stores READY with a signed URL once, tells the owner, and records SignalScreenshotReady once', async () => {
    const id = await newSignal();
    const client = wsClient(h.url, alice);
    try {
      const feed = record(client, 'subscription($id: ID) { signalUpdated(id: $id) { id screenshot { status url } } }', { id });
      await h.server.pubsub.whenSubscribed(updatedTopic(ALICE));
      const ready = { signalId: id, userId: ALICE, status: 'READY' as const, file: `${id}.png`, attempts: 1 };
      await recordScreenshotResult(h.server.orm, h.server.updates, ready);
      await recordScreenshotResult(h.server.orm, h.server.updates, ready);
      await feed.until((results) => results.length >= 1, 'the screenshot update');
      expect(feed.results[0]!.data!.signalUpdated.screenshot.status).toBe('READY');
      const shown = (await h.request(SIGNAL, { id }, alice)).data!.signal;
      expect(shown.screenshot.status).toBe('READY');
      expect(shown.screenshot.url).toMatch(new RegExp(`^https://signals\\.example\\.test/screenshots/${id}\\.png\\?expires=\\d+&signature=[A-Za-z0-9_-]+$`));
      expect(await readyEvents(id)).toHaveLength(1);

      // A late failure report does not undo a screenshot.
      await recordScreenshotResult(h.server.orm, h.server.updates, { signalId: id, userId: ALICE, status: 'FAILED', error: 'late', attempts: 3 });
      expect((await h.request(SIGNAL, { id }, alice)).data!.signal.screenshot).toMatchObject({ status: 'READY', error: null });
      expect(feed.results).toHaveLength(1);
    } finally {
      await client.dispose();
    }
  });

  it('stores FAILED with its reason, and a later READY (a replayed job) still applies', async () => {
    const id = await newSignal();
    await recordScreenshotResult(h.server.orm, h.server.updates, { signalId: id, userId: ALICE, status: 'FAILED', error: 'chromium crashed', attempts: 3 });
    expect((await h.request(SIGNAL, { id }, alice)).data!.signal.screenshot).toEqual({ status: 'FAILED', url: null, error: 'chromium crashed' });
    expect(await readyEvents(id)).toHaveLength(0);
    await recordScreenshotResult(h.server.orm, h.server.updates, { signalId: id, userId: ALICE, status: 'READY', file: `${id}.png`, attempts: 1 });
    expect((await h.request(SIGNAL, { id }, alice)).data!.signal.screenshot).toMatchObject({ status: 'READY', error: null });
    expect(await readyEvents(id)).toHaveLength(1);
  });

  it('queues again a screenshot left PENDING (its job lost), once per signal', async () => {
    const id = await newSignal();
    await (await eventually(() => jobs.getJob(id), 'the first job')).remove();
    const before = await jobs.getJobCountByTypes('waiting', 'prioritized');
    await h.sql(`update "signal" set "received_at" = now() - interval '10 minutes' where "id" = ?`, [id]);
    await h.server.maintain();
    await h.server.maintain();
    const job = await jobs.getJob(id);
    expect(job?.data).toMatchObject({ signalId: id, userId: ALICE, plan: 'free', symbol: 'BTC/USDT', action: 'BUY', price: '67000.5', timeframe: '15m' });
    expect(await jobs.getJobCountByTypes('waiting', 'prioritized')).toBe(before + 1);
  });

  it('deletes refusals older than the retention', async () => {
    await h.deliver(token, 'garbage', { contentType: 'text/plain' });
    await h.deliver(token, 'more garbage', { contentType: 'text/plain' });
    await h.sql(`update "webhook_refusal" set "received_at" = now() - interval '31 days' where "body" = 'garbage'`);
    await h.server.maintain();
    expect((await h.sql<{ body: string }>('select "body" from "webhook_refusal"')).map((row) => row.body)).toEqual(['more garbage']);
  });

  it('deletes expired dedup claims, so the same body makes a new signal after the window', async () => {
    const body = buyAlert();
    const first = (await h.deliver(token, body)).body.signals[0];
    await h.sql(`update "alert_dedup" set "expires_at" = now() - interval '1 second'`);
    await h.server.maintain();
    expect(await h.sql('select 1 from "alert_dedup" where "expires_at" < now()')).toHaveLength(0);
    const second = await h.deliver(token, body);
    expect(second.body).toMatchObject({ duplicate: false });
    expect(second.body.signals[0]).not.toBe(first);
  });
});
