import { randomUUID } from 'node:crypto';
import type { MikroORM } from '../../src/orm';
import { testDatabaseUrl } from '../../src/testing';
import { pruneEventTable } from '../../src/events';
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
});
