import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { MikroORM } from '../../src/orm';
import { testDatabaseUrl } from '../../src/testing';
import { bullConnection, eventQueueName, pruneEventTable, pruneFailedJobs } from '../../src/events';
import { cleanupRedis, jobSettled, REDIS_URL, testPrefix } from '../../src/events/testing';
import { openTestOrm } from './fixture';

const DAY = 24 * 3600 * 1000;

describe('event table retention', () => {
  const database = testDatabaseUrl('events_retention');
  let orm: MikroORM;

  const daysAgo = (days: number) => new Date(Date.now() - days * DAY);

  async function outboxRow(publishedAt: Date | null, occurredAt: Date): Promise<string> {
    const id = randomUUID();
    await orm.em.getConnection().execute(
      `insert into "outbox" ("id", "type", "version", "occurred_at", "source", "subject", "data", "published_at") values (?, 'ProductChanged', 1, ?, 'catalog', 's', '{}', ?)`,
      [id, occurredAt, publishedAt],
    );
    return id;
  }

  async function inboxRow(processedAt: Date): Promise<string> {
    const id = randomUUID();
    await orm.em.getConnection().execute(`insert into "inbox" ("event_id", "type", "source", "processed_at") values (?, 'ProductChanged', 'catalog', ?)`, [id, processedAt]);
    return id;
  }

  async function ids(table: 'outbox' | 'inbox'): Promise<string[]> {
    const column = table === 'outbox' ? 'id' : 'event_id';
    const rows: { id: string }[] = await orm.em.getConnection().execute(`select "${column}" as id from "${table}"`);
    return rows.map((row) => row.id).sort();
  }

  beforeAll(async () => {
    orm = await openTestOrm(database.url);
  });

  afterAll(async () => {
    await orm?.close(true);
    await database.drop();
  });

  it('deletes published outbox rows past retention and keeps recent and unpublished ones, however old', async () => {
    const oldPublished = await Promise.all([1, 2, 3].map(() => outboxRow(daysAgo(8), daysAgo(8))));
    const recentPublished = await outboxRow(daysAgo(1), daysAgo(1));
    const oldUnpublished = await outboxRow(null, daysAgo(30));

    // A batch smaller than the rows to delete: the prune loops until none is left.
    expect(await pruneEventTable(orm, 'outbox', 7 * DAY, 2)).toBe(oldPublished.length);

    expect(await ids('outbox')).toEqual([recentPublished, oldUnpublished].sort());
  });

  it('deletes inbox rows past retention and keeps the ones a redelivery could still meet', async () => {
    await inboxRow(daysAgo(31));
    await inboxRow(daysAgo(40));
    const recent = await inboxRow(daysAgo(2));

    expect(await pruneEventTable(orm, 'inbox', 30 * DAY)).toBe(2);

    expect(await ids('inbox')).toEqual([recent]);
  });

  it('removes event jobs that failed longer ago than retention, in batches, and keeps newer failures and other jobs', async () => {
    const prefix = testPrefix('retention');
    const queue = new Queue<{ fail: boolean }>(eventQueueName('analytics'), { connection: bullConnection(REDIS_URL), prefix });
    const worker = new Worker<{ fail: boolean }>(queue.name, async (job) => {
      if (job.data.fail) throw new UnrecoverableError('handler refused the event');
      return 'processed';
    }, { connection: bullConnection(REDIS_URL, { maxRetriesPerRequest: null }), prefix });
    try {
      const ids = ['a', 'b', 'c', 'kept'].map((name) => `${name}-${randomUUID()}`);
      for (const [index, jobId] of ids.entries()) {
        const settled = jobSettled(worker, index < 3 ? 'failed' : 'completed', jobId);
        await queue.add('Event', { fail: index < 3 }, { jobId, removeOnFail: false, removeOnComplete: false });
        await settled;
      }
      expect(await queue.getJobCountByTypes('failed')).toBe(3);

      // Failed a moment ago: within a day's retention they stay.
      expect(await pruneFailedJobs(queue, DAY)).toBe(0);
      expect(await queue.getJobCountByTypes('failed')).toBe(3);
      // Past retention (none left to wait for), two at a time: the prune loops until none is left.
      expect(await pruneFailedJobs(queue, 0, 2)).toBe(3);
      expect(await queue.getJobCountByTypes('failed')).toBe(0);
      expect(await queue.getJobState(ids[3]!)).toBe('completed');
    } finally {
      await worker.close();
      await queue.close();
      await cleanupRedis(prefix, []);
    }
  });
});
