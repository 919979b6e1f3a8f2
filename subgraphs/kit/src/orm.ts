import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, type EntityManager, type Options } from '@mikro-orm/postgresql';
import type { Constructor, MigrationObject } from '@mikro-orm/core';
import type { Knex } from '@mikro-orm/knex';
import { Client, type QueryResultRow } from 'pg';

export type { EntityManager };

const SAFE_DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function splitDatabaseUrl(databaseUrl: string): { serverUrl: string; database: string } {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!SAFE_DATABASE_NAME.test(database)) throw new Error(`Database name "${database}" must match ${SAFE_DATABASE_NAME}`);
  url.pathname = '/postgres';
  return { serverUrl: url.toString(), database };
}

/** Creates the database named in the URL when it does not exist yet. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const { serverUrl, database } = splitDatabaseUrl(databaseUrl);
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${database}"`).catch((error: { code?: string }) => {
        // Another process created it between our check and our CREATE: 42P04, or 23505 when both CREATEs ran at once.
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const { serverUrl, database } = splitDatabaseUrl(databaseUrl);
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

export interface OrmOptions {
  databaseUrl: string;
  entities: Constructor[];
  migrations: { name: string; class: Constructor<MigrationObject['class'] extends Constructor<infer M> ? M : never> }[];
  poolSize?: number;
  debug?: boolean;
}

export function ormConfig(options: OrmOptions): Options {
  return {
    clientUrl: options.databaseUrl,
    entities: options.entities,
    extensions: [Migrator],
    discovery: { warnWhenNoEntities: false },
    pool: { min: 0, max: options.poolSize ?? 10 },
    migrations: {
      migrationsList: options.migrations as MigrationObject[],
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    debug: options.debug ?? false,
    allowGlobalContext: false,
  };
}

/** The advisory lock a process holds on its database while it migrates. */
const MIGRATION_LOCK = 'mercado:migrations';

/**
 * Creates the database when missing, connects and brings the schema up to the latest migration.
 * Replicas starting together migrate one at a time: the others wait on the lock, then find nothing to do.
 */
export async function openOrm(options: OrmOptions): Promise<MikroORM> {
  await ensureDatabase(options.databaseUrl);
  const orm = await MikroORM.init(ormConfig(options));
  try {
    await whileLocked(options.databaseUrl, MIGRATION_LOCK, () => orm.getMigrator().up());
  } catch (error) {
    await orm.close();
    throw error;
  }
  return orm;
}

/** Runs `work` holding a session advisory lock of the database; a process that dies mid-way releases it with its connection. */
async function whileLocked<T>(databaseUrl: string, lock: string, work: () => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [lock]);
    return await work();
  } finally {
    await client.end();
  }
}

/**
 * Runs one statement with bind parameters (`$1`, `$2`…) on the connection of `em`'s transaction, or
 * on a pooled one outside a transaction, and answers its rows. For hot statements with a large
 * parameter (a JSON payload): `em.execute` writes every parameter into the SQL text, escaping it
 * character by character, and the server parses it all again; a bind parameter travels as it is.
 * Errors are pg's own (`code` is the SQLSTATE). `onSql` hears these statements too.
 */
export async function sqlQuery<T>(em: EntityManager, text: string, values: readonly unknown[]): Promise<T[]> {
  const knex = em.getKnex();
  const transaction = em.getTransactionContext<Knex.Transaction>();
  const client = transaction ? transaction.client : knex.client;
  const connection: Client = await client.acquireConnection();
  try {
    knex.emit('query', { sql: text, bindings: values });
    return (await connection.query<T & QueryResultRow>(text, values as unknown[])).rows;
  } finally {
    // A transaction's connection stays with it.
    if (!transaction) await client.releaseConnection(connection);
  }
}

/** Calls `listener` with every SQL statement the ORM sends; returns a function that stops listening. */
export function onSql(orm: MikroORM, listener: (sql: string) => void): () => void {
  const knex = orm.em.getConnection().getKnex();
  const handler = (query: { sql: string }) => listener(query.sql);
  knex.on('query', handler);
  return () => knex.off('query', handler);
}

export { MikroORM };
