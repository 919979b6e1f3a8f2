import { randomUUID } from 'node:crypto';
import { onSql, openOrm, sqlQuery, type MikroORM } from '../src/orm';
import { testDatabaseUrl } from '../src/testing';
import { CreateNoteTable, NoteEntity } from './fixture/note';

describe('sqlQuery', () => {
  const database = testDatabaseUrl('sql_query');
  let orm: MikroORM;

  beforeAll(async () => {
    orm = await openOrm({ databaseUrl: database.url, entities: [NoteEntity], migrations: [{ name: 'CreateNoteTable', class: CreateNoteTable }], poolSize: 2 });
  });

  afterAll(async () => {
    await orm?.close();
    await database.drop();
  });

  const insertNotes = (em: Parameters<typeof sqlQuery>[0], owner: string, texts: string[]) =>
    sqlQuery<{ text: string }>(
      em,
      `insert into "note" ("id", "owner_id", "text") select gen_random_uuid(), $1, "t" from jsonb_array_elements_text($2::jsonb) as "t" returning "text"`,
      [owner, JSON.stringify(texts)],
    );
  const notesOf = (owner: string) => orm.em.fork().find(NoteEntity, { ownerId: owner }, { orderBy: { text: 'asc' } });

  it('passes parameters as they are, quotes and all, and answers the rows', async () => {
    const owner = randomUUID();
    const texts = [`it's "quoted" \\ and $1 ?`, 'ünïcödé ✓'];
    expect(await insertNotes(orm.em.fork(), owner, texts)).toEqual(texts.map((text) => ({ text })));
    expect((await notesOf(owner)).map((note) => note.text)).toEqual([...texts].sort());
  });

  it("runs in the EntityManager's transaction: rolled back with it, and seen by the ORM's own statements in it", async () => {
    const owner = randomUUID();
    await expect(
      orm.em.fork().transactional(async (em) => {
        await insertNotes(em, owner, ['rolled back']);
        expect(await em.count(NoteEntity, { ownerId: owner })).toBe(1);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await notesOf(owner)).toEqual([]);
  });

  it('gives each pooled connection back, and fails with the SQLSTATE of the error', async () => {
    const owner = randomUUID();
    // Far more statements than the pool of 2 holds: a connection kept would make this wait forever.
    await Promise.all(Array.from({ length: 20 }, (_, index) => insertNotes(orm.em.fork(), owner, [`note ${index}`])));
    expect(await notesOf(owner)).toHaveLength(20);
    await expect(sqlQuery(orm.em.fork(), 'select $1::int', ['not a number'])).rejects.toMatchObject({ code: '22P02' });
    expect(await sqlQuery(orm.em.fork(), 'select 1 as "one"', [])).toEqual([{ one: 1 }]);
  });

  it('is heard by onSql like the statements the ORM sends', async () => {
    const heard: string[] = [];
    const stop = onSql(orm, (sql) => heard.push(sql));
    try {
      await sqlQuery(orm.em.fork(), 'select $1::text as "echo"', ['hello']);
    } finally {
      stop();
    }
    expect(heard).toEqual(['select $1::text as "echo"']);
  });
});
