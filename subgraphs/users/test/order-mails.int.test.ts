import { randomUUID } from 'node:crypto';
import { Queue, type Worker } from 'bullmq';
import { bullConnection, type EventEnvelope } from '../../kit/src/events';
import { cleanupRedis, eventQueue, jobEnded, REDIS_URL, testEnvelope, testPrefix } from '../../kit/src/events/testing';
import { MAIL_QUEUE } from '../src/mail/mail.queue';
import { startUsers, type UsersHarness } from './harness';
import { SmtpInbox } from './smtp-inbox';

const PASSWORD = 'correct horse battery';

const envelope = (type: string, data: Record<string, unknown>): EventEnvelope => testEnvelope(type, 'orders', String(data.orderId), data);

describe('users: mails about a buyer\'s orders (OrderConfirmed, OrderShipped, OrderCancelled from orders)', () => {
  const prefix = testPrefix('users-orders');
  const inbox = new SmtpInbox();
  let users: UsersHarness;
  let worker: Worker;
  let mailQueue: Queue;

  /** Puts `event` on users' queue; answers how its job ended and the result. */
  async function deliver(event: EventEnvelope, jobId = event.id) {
    const queue = eventQueue('users', prefix);
    try {
      const ended = jobEnded(worker, jobId);
      await queue.add(event.type, event, { jobId, attempts: 1 });
      return await ended;
    } finally {
      await queue.close();
    }
  }
  /** The mail job an event queued, if any. */
  const mailOf = (event: EventEnvelope) => mailQueue.getJob(`order-mail-${event.id}`);
  /** A buyer whose welcome mail has been read. */
  async function buyer(email: string, name: string) {
    const welcomed = inbox.take(email, 'Confirm your Mercado email address');
    const { user } = await users.register(email, PASSWORD, name);
    await welcomed;
    return user;
  }

  beforeAll(async () => {
    const smtpUrl = await inbox.start();
    users = await startUsers({ SMTP_URL: smtpUrl, EVENTS_ENABLED: 'true', EVENTS_PREFIX: prefix, REDIS_URL });
    worker = users.server.eventing!.consumer!.worker as unknown as Worker;
    mailQueue = new Queue(MAIL_QUEUE, { connection: bullConnection(REDIS_URL), prefix });
  });

  afterAll(async () => {
    await mailQueue?.close();
    await users?.close();
    await inbox.close();
    await cleanupRedis(prefix, ['users']);
  });

  it('mails the buyer a receipt when the order is paid, once however often the event comes', async () => {
    const { id: userId } = await buyer('receipt@example.com', 'Rita Receipt');
    const orderId = randomUUID();
    const confirmed = envelope('OrderConfirmed', {
      orderId,
      userId,
      totalAmount: 20700,
      currency: 'USD',
      lines: [
        { productId: randomUUID(), sku: 'GOOD-HW-WALLET', name: 'Hardware wallet', kind: 'GOOD', quantity: 2, unitAmount: 7900 },
        { productId: randomUUID(), sku: 'IND-RSI-DIV', name: null, kind: 'INDICATOR', quantity: 1, unitAmount: 4900 },
      ],
    });
    const mailed = inbox.take('receipt@example.com', `Your Mercado order ${orderId.slice(0, 8).toUpperCase()} is confirmed`);
    expect((await deliver(confirmed)).result).toBe('processed');
    const { text } = await mailed;
    expect(text).toContain('Hello Rita Receipt,');
    expect(text).toContain(`thank you for your order ${orderId}`);
    expect(text).toContain('2 × Hardware wallet (GOOD-HW-WALLET) at 79.00 USD each: 158.00 USD');
    expect(text).toContain('1 × IND-RSI-DIV: 49.00 USD');
    expect(text).toContain('Total: 207.00 USD');
    expect(text).toContain('We will write again when your goods ship.');

    // Redelivered: the inbox knows it, and the mail job it queued is the only one.
    expect((await deliver(confirmed, `${confirmed.id}-again`)).result).toBe('duplicate');
    expect(await mailQueue.getJobCountByTypes('waiting', 'active', 'delayed', 'completed', 'failed')).toBe(1);
    expect((await mailOf(confirmed))?.data).toMatchObject({ to: 'receipt@example.com' });
  });

  it('mails the tracking number when the goods ship, why an order was cancelled, and each refund', async () => {
    const { id: userId } = await buyer('waiting@example.com', 'Wes Waiting');
    const orderId = randomUUID();
    const shipped = inbox.take('waiting@example.com', `Your Mercado order ${orderId.slice(0, 8).toUpperCase()} has shipped`);
    await deliver(envelope('OrderShipped', { orderId, userId, trackingNumber: 'TRK-77' }));
    expect((await shipped).text).toContain('Tracking number: TRK-77');

    const otherOrder = randomUUID();
    const cancelled = inbox.take('waiting@example.com', `Your Mercado order ${otherOrder.slice(0, 8).toUpperCase()} was cancelled`);
    await deliver(envelope('OrderCancelled', { orderId: otherOrder, userId, reason: 'PAYMENT_FAILED', lines: [] }));
    const { text } = await cancelled;
    expect(text).toContain('The payment did not go through.');
    expect(text).toContain('Nothing was charged');

    const refunded = inbox.take('waiting@example.com', `Your refund for Mercado order ${orderId.slice(0, 8).toUpperCase()}`);
    const refund = { orderId, userId, paymentId: randomUUID(), refundId: randomUUID(), amount: 1500, currency: 'JPY' };
    await deliver({ ...envelope('RefundIssued', refund), source: 'payments' });
    expect((await refunded).text).toContain(`we refunded 1500 JPY for your order ${orderId}`);
  });

  it('mails nobody for a deleted account or for events from before orders named the buyer, and fails malformed events without retrying', async () => {
    const { id: userId } = await buyer('gone@example.com', 'Gary Gone');
    await users.sql('update "users" set "email" = null, "deleted_at" = now() where "id" = ?', [userId]);
    const toDeleted = envelope('OrderShipped', { orderId: randomUUID(), userId, trackingNumber: 'TRK-1' });
    expect((await deliver(toDeleted)).result).toBe('processed');
    expect(await mailOf(toDeleted)).toBeUndefined();

    const older = envelope('OrderCancelled', { orderId: randomUUID(), reason: 'EXPIRED', lines: [] });
    expect((await deliver(older)).result).toBe('processed');
    expect(await mailOf(older)).toBeUndefined();

    const { id: liveUser } = await buyer('live@example.com', 'Liv Live');
    for (const data of [
      { orderId: randomUUID(), userId: liveUser, totalAmount: 100, currency: 'USD', lines: [{ sku: 'X', kind: 'GOOD', quantity: -1, unitAmount: 100 }] },
      { orderId: 'not-a-uuid', userId: liveUser, totalAmount: 100, currency: 'USD', lines: [] },
      { orderId: randomUUID(), userId: 'nobody', totalAmount: 100, currency: 'USD', lines: [{ sku: 'X', kind: 'GOOD', quantity: 1, unitAmount: 100 }] },
    ]) {
      const bad = envelope('OrderConfirmed', data);
      const ended = await deliver(bad);
      expect(ended.outcome).toBe('failed');
      expect(ended.job.attemptsMade).toBe(1);
      expect(await mailOf(bad)).toBeUndefined();
    }
  });
});
