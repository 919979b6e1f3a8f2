import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import { bullConnection, createRedisClient, eventsOfJob, type EventEnvelope, type EventJobData } from '../../kit/src/events';
import { REDIS_URL, testEnvelope } from '../../kit/src/events/testing';
import { ORDER, startOrders, type OrdersHarness } from './harness';

/**
 * The saga end to end through the real machinery: the orders server's relay publishes its outbox
 * to BullMQ, stand-ins for inventory and payments consume their queues and answer on
 * `events-orders`, and the server's consumer applies the answers (inbox and handlers).
 */
describe('orders on the event queues', () => {
  const prefix = `test-orders-${randomUUID().slice(0, 8)}`;
  const connection = bullConnection(REDIS_URL);
  let h: OrdersHarness;
  let toOrders: Queue<EventJobData>;
  const workers: Worker[] = [];
  /** Stand-in behaviour of inventory and payments, per test. */
  let inventory: (envelope: EventEnvelope) => EventEnvelope | null = () => null;
  let payments: (envelope: EventEnvelope) => EventEnvelope | null = () => null;

  const reply = (type: string, source: string, data: Record<string, unknown>): EventEnvelope => testEnvelope(type, source, String(data.orderId ?? data.productId), data);
  const publish = (envelope: EventEnvelope, jobId = envelope.id) => toOrders.add(envelope.type, envelope, { jobId, attempts: 3, backoff: { type: 'fixed', delay: 10 } });

  /** Resolves with the outcome of the orders consumer's first finished job matching `match`. */
  const consumed = (match: (envelope: EventEnvelope) => boolean) =>
    new Promise<{ outcome: 'completed' | 'failed'; result?: unknown; job: Job }>((resolve) => {
      const worker = h.server.consumer!.worker;
      const onCompleted = (job: Job, result: unknown) => {
        if (!match(job.data)) return;
        off();
        resolve({ outcome: 'completed', result, job });
      };
      const onFailed = (job: Job | undefined) => {
        if (!job || !match(job.data)) return;
        off();
        resolve({ outcome: 'failed', job });
      };
      const off = () => {
        worker.off('completed', onCompleted);
        worker.off('failed', onFailed);
      };
      worker.on('completed', onCompleted);
      worker.on('failed', onFailed);
    });

  beforeAll(async () => {
    h = await startOrders({ EVENTS_ENABLED: 'true', EVENTS_PREFIX: prefix, REDIS_URL });
    toOrders = new Queue<EventJobData>('events-orders', { connection, prefix });
    for (const [queue, respond] of [
      ['events-inventory', (envelope: EventEnvelope) => inventory(envelope)],
      ['events-payments', (envelope: EventEnvelope) => payments(envelope)],
    ] as const) {
      const worker = new Worker<EventJobData>(
        queue,
        async (job) => {
          for (const envelope of eventsOfJob(job.data) as EventEnvelope[]) {
            const answer = respond(envelope);
            if (answer) await publish(answer);
          }
        },
        { connection: bullConnection(REDIS_URL, { maxRetriesPerRequest: null }), prefix },
      );
      workers.push(worker);
    }
    await Promise.all([h.server.consumer!.ready(), toOrders.waitUntilReady(), ...workers.map((worker) => worker.waitUntilReady())]);
  });

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.close()));
    await toOrders?.close();
    await h?.close();
    // Remove every key this file created under its prefix.
    const redis = createRedisClient(REDIS_URL);
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      await redis.quit();
    }
  });

  it('keeps product snapshots from ProductChanged jobs', async () => {
    const productId = randomUUID();
    const done = consumed((envelope) => envelope.subject === productId);
    await publish(reply('ProductChanged', 'catalog', { productId, sku: 'IND-X', kind: 'INDICATOR', priceAmount: 4900, currency: 'USD', active: true }));
    expect((await done).outcome).toBe('completed');
    expect(await h.count('product_snapshot', 'product_id = ?', [productId])).toBe(1);
    expect(await h.count('inbox', `type = 'ProductChanged'`)).toBeGreaterThanOrEqual(1);
  });

  it('runs checkout → StockReserved → PaymentRequested → PaymentSucceeded to FULFILLED for a digital order', async () => {
    const product = await h.product({ kind: 'PLAN', sku: 'PLAN-PRO', priceAmount: 1900 });
    inventory = (envelope) =>
      envelope.type === 'OrderPlaced' ? reply('StockReserved', 'inventory', { orderId: envelope.data.orderId, reservationId: randomUUID(), expiresAt: new Date().toISOString() }) : null;
    payments = (envelope) =>
      envelope.type === 'PaymentRequested'
        ? reply('PaymentSucceeded', 'payments', { orderId: envelope.data.orderId, paymentId: randomUUID(), amount: envelope.data.amount, currency: envelope.data.currency })
        : null;

    let orderId = '';
    const paid = consumed((envelope) => envelope.type === 'PaymentSucceeded' && envelope.data.orderId === orderId);
    orderId = (await h.placeOrder([{ productId: product.productId, quantity: 1 }])).id;
    expect((await paid).outcome).toBe('completed');

    const order = (await h.request(ORDER, { id: orderId }, h.customer)).data!.order;
    expect(order.status).toBe('FULFILLED');
    expect(order.history.map((entry: { status: string }) => entry.status)).toEqual(['PENDING', 'AWAITING_PAYMENT', 'PAID', 'FULFILLED']);
    expect(await h.count('inbox', `type in ('StockReserved', 'PaymentSucceeded')`)).toBeGreaterThanOrEqual(2);
  });

  it('cancels on StockRejected without asking payments', async () => {
    const product = await h.product({ kind: 'GOOD', priceAmount: 7900 });
    inventory = (envelope) =>
      envelope.type === 'OrderPlaced' ? reply('StockRejected', 'inventory', { orderId: envelope.data.orderId, reason: 'insufficient stock', productIds: [product.productId] }) : null;
    let orderId = '';
    const rejected = consumed((envelope) => envelope.type === 'StockRejected' && envelope.data.orderId === orderId);
    orderId = (await h.placeOrder([{ productId: product.productId, quantity: 1 }])).id;
    expect((await rejected).outcome).toBe('completed');
    expect((await h.request(ORDER, { id: orderId }, h.customer)).data!.order).toMatchObject({ status: 'CANCELLED', cancelReason: 'OUT_OF_STOCK' });
    expect(await h.outbox('PaymentRequested', orderId)).toEqual([]);
  });

  it('skips a redelivered event through the inbox', async () => {
    const productId = randomUUID();
    const envelope = reply('ProductChanged', 'catalog', { productId, sku: 'IND-Y', kind: 'INDICATOR', priceAmount: 100, currency: 'USD', active: true });
    const first = consumed((job) => job.id === envelope.id);
    await publish(envelope, `${envelope.id}-1`);
    expect((await first).result).toBe('processed');
    const second = consumed((job) => job.id === envelope.id);
    await publish(envelope, `${envelope.id}-2`);
    expect((await second).result).toBe('duplicate');
  });

  it('fails a malformed event at once and leaves it in the failed set', async () => {
    const orderId = randomUUID();
    const envelope = reply('PaymentSucceeded', 'payments', { orderId, amount: 'a lot' });
    const failed = consumed((job) => job.id === envelope.id);
    await publish(envelope);
    const { outcome, job } = await failed;
    expect(outcome).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(await toOrders.getJobState(envelope.id)).toBe('failed');
    expect(await h.count('inbox', 'event_id = ?', [envelope.id])).toBe(0);
  });

  it('reports Redis in /ready', async () => {
    const ready = await (await fetch(h.url.replace('/graphql', '/ready'))).json();
    expect(ready).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });
  });
});
