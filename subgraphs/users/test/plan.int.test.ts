import { randomUUID } from 'node:crypto';
import type { Worker } from 'bullmq';
import { cleanupRedis, eventQueue, jobSettled, REDIS_URL, testEnvelope, testPrefix } from '../../kit/src/events/testing';
import type { EventEnvelope } from '../../kit/src/events';
import { startUsers, type UsersHarness } from './harness';

const planChanged = (userId: string, plan: string, occurredAt: string): EventEnvelope =>
  testEnvelope('PlanChanged', 'orders', userId, { userId, productId: randomUUID(), sku: `PLAN-${plan}`, plan }, occurredAt);

describe('plan purchases (PlanChanged from orders)', () => {
  const prefix = testPrefix('users');
  let users: UsersHarness;
  let worker: Worker;

  beforeAll(async () => {
    users = await startUsers({ EVENTS_ENABLED: 'true', EVENTS_PREFIX: prefix, REDIS_URL });
    worker = users.server.eventing!.consumer!.worker as unknown as Worker;
  });

  afterAll(async () => {
    await users.close();
    await cleanupRedis(prefix, ['users']);
  });

  async function deliver(envelope: EventEnvelope, jobId = envelope.id): Promise<unknown> {
    const queue = eventQueue('users', prefix);
    try {
      const settled = jobSettled(worker, 'completed', jobId);
      await queue.add(envelope.type, envelope, { jobId });
      return (await settled).result;
    } finally {
      await queue.close();
    }
  }

  it('sets the buyer plan, visible to them and not to others', async () => {
    const buyer = await users.register('buyer@example.com');
    const other = await users.register('other@example.com');
    expect((await users.gql('{ me { plan } }', {}, buyer.accessToken)).data!.me.plan).toBe('FREE');

    await deliver(planChanged(buyer.user.id, 'PRO', '2030-01-01T12:00:00.000Z'));

    expect((await users.gql('{ me { plan } }', {}, buyer.accessToken)).data!.me.plan).toBe('PRO');
    const seenByOther = await users.gql('query($r: [_Any!]!) { _entities(representations: $r) { ... on User { plan } } }', { r: [{ __typename: 'User', id: buyer.user.id }] }, other.accessToken);
    expect(seenByOther.data!._entities).toEqual([{ plan: null }]);
  });

  it('applies a redelivered event once and ignores an older event arriving late', async () => {
    const buyer = await users.register('late@example.com');
    const premium = planChanged(buyer.user.id, 'PREMIUM', '2030-01-02T12:00:00.000Z');
    expect(await deliver(premium)).toBe('processed');
    expect(await deliver(premium, `${premium.id}-again`)).toBe('duplicate');

    await deliver(planChanged(buyer.user.id, 'PRO', '2030-01-01T12:00:00.000Z'));
    expect((await users.gql('{ me { plan } }', {}, buyer.accessToken)).data!.me.plan).toBe('PREMIUM');
  });
});
