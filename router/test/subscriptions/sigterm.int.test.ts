import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Client } from 'graphql-ws';
import { PRICE_SUBSCRIPTION, record, startOrders, startPayments, startUsers, wsClient, type Payments } from '../support/live';
import type { LiveSubgraph } from '../support/live-subgraph';
import { composeSupergraph, type TestSubgraph } from '../support/subgraph';
import { createIssuer } from '../support/tokens';

const ROOT = path.resolve(__dirname, '../../..');

describe('router process on SIGTERM', () => {
  let orders: LiveSubgraph;
  let payments: Payments;
  let users: TestSubgraph;
  let dir: string;
  let child: ChildProcess | undefined;
  const clients: Client[] = [];

  beforeAll(async () => {
    const issuer = await createIssuer();
    orders = await startOrders(issuer.verifyToken);
    payments = await startPayments();
    users = await startUsers();
    dir = await mkdtemp(path.join(tmpdir(), 'router-sigterm-'));
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    await orders?.close();
    await payments?.close();
    await users?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('completes open subscriptions, releases upstream ones and exits 0', async () => {
    const file = path.join(dir, 'supergraph.graphql');
    await writeFile(file, composeSupergraph([orders, payments, users]));
    const started = spawn(process.execPath, ['--import', 'tsx', 'router/src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'development', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SUPERGRAPH_PATH: file, SUPERGRAPH_WATCH: 'false' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child = started;
    // The JSON log line "router listening" carries the URL (port 0 → the real one).
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: started.stdout! });
      lines.on('line', (line) => {
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'router listening' && entry.url) resolve(entry.url);
        } catch {
          // not a log line
        }
      });
      started.once('exit', (code) => reject(new Error(`router exited with ${code} before listening`)));
    });
    const client = wsClient(url);
    clients.push(client);
    const prices = record(client, PRICE_SUBSCRIPTION, { symbols: ['BTC'] });
    await orders.until(() => orders.pubsub.count('price:BTC') === 1);
    orders.pubsub.publish('price:BTC', { symbol: 'BTC', price: '1' });
    await prices.result(1);
    const completesBefore = orders.completes;

    const exited = once(started, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    started.kill('SIGTERM');

    expect(await prices.ended()).toEqual({ completed: true });
    expect(await exited).toEqual([0, null]);
    await orders.until(() => orders.completes === completesBefore + 1 && orders.openConnections === 0);
    expect(orders.pubsub.count('price:BTC')).toBe(0);
  }, 60_000);
});
