import { Client } from 'pg';
import { openOrm, type MikroORM } from '../src/orm';
import { testDatabaseUrl } from '../src/testing';
import { CreateNoteTable, NoteEntity } from './fixture/note';

const NOTES = { entities: [NoteEntity], migrations: [{ name: 'CreateNoteTable', class: CreateNoteTable }] };

describe('openOrm', () => {
  const database = testDatabaseUrl('orm');
  const opened: MikroORM[] = [];

  afterAll(async () => {
    await Promise.all(opened.map((orm) => orm.close()));
    await database.drop();
  });

  it('lets replicas start at once on a new database: one creates it and migrates, the others wait and find it done', async () => {
    const replicas = await Promise.allSettled(Array.from({ length: 4 }, () => openOrm({ databaseUrl: database.url, ...NOTES })));
    for (const replica of replicas) if (replica.status === 'fulfilled') opened.push(replica.value);
    expect(replicas.map((replica) => (replica.status === 'rejected' ? String(replica.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok', 'ok']);

    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const applied = await client.query<{ name: string }>('select "name" from "mikro_orm_migrations"');
      expect(applied.rows.map((row) => row.name)).toEqual(['CreateNoteTable']);
      await client.query(`insert into "note" ("id", "owner_id", "text") values (gen_random_uuid(), 'u1', 'hello')`);
      expect((await client.query('select "text" from "note"')).rows).toEqual([{ text: 'hello' }]);
    } finally {
      await client.end();
    }
  });
});
