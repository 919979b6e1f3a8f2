import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

/** How long a started redis-server may take to answer PING (it replays its append-only file first). */
const READY_TIMEOUT_MS = 15_000;
const POLL_MS = 50;

/** A free TCP port on 127.0.0.1, as the kernel hands it out for port 0. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** One PING on a fresh connection that neither retries nor queues: true only if Redis answered PONG. */
async function pong(port: number): Promise<boolean> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    // While the AOF is being replayed Redis answers -LOADING, which rejects here.
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * A redis-server of a test's own, so the test can kill it without touching the shared Redis.
 *
 * It runs with the persistence a production BullMQ Redis must have: the append-only file, fsynced
 * on every write (`--appendonly yes --appendfsync always`), and no RDB snapshots (`--save ''`).
 * BullMQ keeps every queued, delayed, active and failed job only in Redis; without an AOF a crash
 * loses whatever was written since the last snapshot (jobs published by outbox relays whose rows are
 * already marked published, so the events would be lost for good), and with a laxer fsync policy up
 * to a second of acknowledged writes. With `always` every acknowledged write survives SIGKILL.
 */
export class RedisProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts redis-server on a free port with a fresh data directory and waits until it answers PING. */
  static async start(): Promise<RedisProcess> {
    const dir = await mkdtemp(path.join(tmpdir(), 'mercado-e2e-redis-'));
    // Another process may take the port between freePort() and redis binding it: try a few.
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const redis = new RedisProcess(await freePort(), dir);
      try {
        await redis.restart();
        return redis;
      } catch (error) {
        lastError = error;
        await redis.kill();
      }
    }
    await rm(dir, { recursive: true, force: true });
    throw lastError;
  }

  /** Starts redis-server (again) on the same port and directory, and waits until it answers PING. */
  async restart(): Promise<void> {
    if (this.child) throw new Error('redis-server is already running');
    this.output = '';
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let gone = false;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        gone = true;
        if (this.child === child) this.child = undefined;
        resolve();
      });
      child.once('error', (error) => {
        this.output += `\n${error.message}`;
        gone = true;
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });

    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await pong(this.port))) {
      if (gone) throw new Error(`redis-server on port ${this.port} exited before it was ready:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not answer PING within ${READY_TIMEOUT_MS} ms:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** SIGKILL: no shutdown, no final save; what survives is what the AOF had fsynced. Resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** Kills the server and removes its data directory. */
  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}
