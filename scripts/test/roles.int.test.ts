import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { cleanupRedis, testPrefix } from '../../subgraphs/kit/src/events/testing';
import { queueJobsOnMetrics, testDatabaseUrl } from '../../subgraphs/kit/src/testing';
import { build, BUILD_DIR, compiledEntry, ROOT } from '../stack';

jest.setTimeout(60_000);

/** The orders subgraph as deployed at scale: its compiled entry point (as the image runs it) with --api-only and with --workers-only. */
describe('subgraph process roles', () => {
  const database = testDatabaseUrl('roles');
  const prefix = testPrefix('roles');
  const children: ChildProcess[] = [];
  // Its own output directory: a benchmark or npm start may be building dist/ meanwhile.
  const outDir = path.join(BUILD_DIR, `roles-test-${randomBytes(4).toString('hex')}`);

  beforeAll(() => build(outDir), 180_000);

  const start = (args: string[]): ChildProcess => {
    const child = spawn(process.execPath, ['--enable-source-maps', compiledEntry('subgraphs/orders/src/main.ts', outDir), ...args], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'development', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', DATABASE_URL: database.url, EVENTS_PREFIX: prefix },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    return child;
  };

  /** The base URL from the JSON log line "orders subgraph listening" (port 0 → the real one), and the role it names. */
  const listening = (child: ChildProcess): Promise<{ base: string; role: string }> =>
    new Promise((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string; role?: string };
          if (entry.msg === 'orders subgraph listening' && entry.url) resolve({ base: entry.url.replace('/graphql', ''), role: entry.role ?? '' });
        } catch {
          // not a log line
        }
      });
      child.once('exit', (code) => reject(new Error(`orders exited with ${code} before listening`)));
    });

  const metricsOf = (base: string) => ({ metrics: async () => (await fetch(`${base}/metrics`)).text() });
  const graphql = (base: string) => fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    }
    await database.drop();
    await cleanupRedis(prefix, ['orders']);
    rmSync(outDir, { recursive: true, force: true });
  });

  it('serves GraphQL with --api-only and consumes events with --workers-only, each exiting 0 on SIGTERM', async () => {
    // One after the other: the first migrates the new database.
    const api = start(['--api-only']);
    const apiAt = await listening(api);
    const workers = start(['--workers-only']);
    const workersAt = await listening(workers);
    expect([apiAt.role, workersAt.role]).toEqual(['api', 'workers']);

    expect(await (await graphql(apiAt.base)).json()).toEqual({ data: { __typename: 'Query' } });
    expect((await graphql(workersAt.base)).status).toBe(404);
    expect((await fetch(`${workersAt.base}/ready`)).status).toBe(200);
    // The consumer of events-orders reports its queue; only the workers process runs one.
    expect(await queueJobsOnMetrics(metricsOf(workersAt.base), 'events-orders')).toMatchObject({ waiting: 0, failed: 0 });
    expect(await queueJobsOnMetrics(metricsOf(apiAt.base), 'events-orders')).toEqual({});

    for (const child of [api, workers]) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      expect(await exited).toEqual([0, null]);
    }
  });

  it('refuses an argument it does not know, naming it', async () => {
    const child = start(['--worker-only']);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(stderr).toContain('unknown argument --worker-only');
  });
});
