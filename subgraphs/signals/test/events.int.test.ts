import { createLogger } from '../../kit/src';
import { listFailed } from '../../kit/src/events';
import { createRedisPubSub, type RedisPubSub } from '../../kit/src/pubsub';
import { priceTopic } from '../src/outcome/outcome.watcher';
import { eventQueue, jobSettled, QueueWatcher, REDIS_URL } from '../../kit/src/events/testing';
import { buyAlert, startSignals, type SignalsHarness } from './support/harness';

const CAROL = '0ca10100-0000-4000-8000-000000000041';
const DAN = '0da00000-0000-4000-8000-000000000042';

/** Bounded polling of the database: the consumer runs on its own schedule. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
    last = await read();
  }
  return last;
}

describe('events: PlanChanged in, SignalReceived out', () => {
  let h: SignalsHarness;
  let analytics: QueueWatcher;
  let market: RedisPubSub;

  beforeAll(async () => {
    // The relay looks for rows once at start and then every ten minutes: only the writers' wake-ups get events out in time.
    h = await startSignals({ workers: true, env: { SCREENSHOT_WORKERS: 'false', EVENTS_POLL_MS: '600000' } });
    analytics = new QueueWatcher('analytics', h.prefix);
    market = createRedisPubSub({ redisUrl: REDIS_URL, prefix: `${h.prefix}:pubsub:`, log: createLogger('market', 'silent') });
    await market.ready();
  });

  afterAll(async () => {
    await market?.close();
    await analytics?.close();
    await h?.close();
  });

  const planOf = async (userId: string): Promise<string | undefined> =>
    (await h.sql<{ plan: string }>('select "plan" from "user_plan" where "user_id" = ?', [userId]))[0]?.plan;

  it('applies PlanChanged from its queue once, and a late older one changes nothing', async () => {
    const queue = eventQueue('signals', h.prefix);
    const worker = h.server.eventing!.consumer!.worker;
    try {
      const pro = h.envelope('PlanChanged', { userId: CAROL, productId: 'p1', sku: 'PLAN-PRO-YEAR', plan: 'PRO-YEAR' }, new Date(Date.now() - 1_000));
      const first = jobSettled(worker, 'completed', pro.id);
      await queue.add(pro.type, pro, { jobId: pro.id });
      expect((await first).result).toBe('processed');
      expect(await planOf(CAROL)).toBe('pro');

      // Redelivered (a new job for the same event): the inbox knows it.
      const again = jobSettled(worker, 'completed', `${pro.id}-again`);
      await queue.add(pro.type, pro, { jobId: `${pro.id}-again` });
      expect((await again).result).toBe('duplicate');

      const older = h.envelope('PlanChanged', { userId: CAROL, productId: 'p0', sku: 'PLAN-FREE', plan: 'FREE' }, new Date(Date.now() - 60_000));
      const late = jobSettled(worker, 'completed', older.id);
      await queue.add(older.type, older, { jobId: older.id });
      expect((await late).result).toBe('processed');
      expect(await planOf(CAROL)).toBe('pro');

      const premium = h.envelope('PlanChanged', { userId: CAROL, productId: 'p2', sku: 'PLAN-PREMIUM', plan: 'PREMIUM' });
      await queue.add(premium.type, premium, { jobId: premium.id });
      await eventually(() => planOf(CAROL), (plan) => plan === 'premium', 'premium plan');
    } finally {
      await queue.close();
    }
  });

  it('fails a malformed PlanChanged at once and leaves it for inspection', async () => {
    const queue = eventQueue('signals', h.prefix);
    try {
      const broken = h.envelope('PlanChanged', { userId: DAN });
      await queue.add(broken.type, broken, { jobId: broken.id, attempts: 5 });
      const failed = await eventually(
        () => listFailed(REDIS_URL, 'signals', { prefix: h.prefix }),
        (jobs) => jobs.some((job) => job.jobId === broken.id),
        'the malformed event in the failed set',
      );
      expect(failed.find((job) => job.jobId === broken.id)).toMatchObject({ attemptsMade: 1, failedReason: expect.stringContaining('no valid userId and plan') });
      expect(await planOf(DAN)).toBeUndefined();
    } finally {
      await queue.close();
    }
  });

  it('relays SignalReceived to analytics at once, woken by the ingest that wrote it', async () => {
    const token = await h.token(DAN);
    const endpoint = await h.endpoint(token);
    const delivered = await h.deliver(endpoint.token, buyAlert({ ticker: 'ETHUSDT', price: '3500.25' }));
    const signalId = delivered.body.signals[0];
    const event = await analytics.next((envelope) => envelope.type === 'SignalReceived' && envelope.subject === signalId);
    expect(event).toMatchObject({
      source: 'signals',
      data: { signalId, userId: DAN, endpointId: endpoint.id, symbol: 'ETH/USDT', ticker: 'ETHUSDT', action: 'BUY', price: '3500.25', timeframe: '15m' },
    });
  });

  it('relays SignalResolved at once, woken by the outcome watcher that wrote it', async () => {
    const token = await h.token(DAN);
    const endpoint = await h.endpoint(token, { defaults: { takeProfit: '2%', stopLoss: '1%' } });
    const delivered = await h.deliver(endpoint.token, buyAlert({ ticker: 'XRPUSDT', price: '1' }));
    const signalId = delivered.body.signals[0];
    await eventually(async () => h.server.watcher!.watching('XRP/USDT'), (count) => count === 1, 'the signal watched');
    await h.server.watcher!.whenListening('XRP/USDT');
    market.publish(priceTopic('XRP/USDT'), { symbol: 'XRP/USDT', lastPrice: '1.03', updatedAt: new Date().toISOString() });
    const event = await analytics.next((envelope) => envelope.type === 'SignalResolved' && envelope.subject === signalId);
    expect(event.data).toMatchObject({ signalId, userId: DAN, result: 'WIN', exitPrice: '1.03' });
  });
});
