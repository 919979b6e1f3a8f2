import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { analyticsEntities, analyticsMigrations } from '../subgraphs/analytics/src/mikro-orm.config';
import { catalogEntities, catalogMigrations } from '../subgraphs/catalog/src/mikro-orm.config';
import { seedCatalog } from '../subgraphs/catalog/src/seeds/catalog.seed';
import { inventoryEntities, inventoryMigrations } from '../subgraphs/inventory/src/mikro-orm.config';
import { seedInventory } from '../subgraphs/inventory/src/seeds/inventory.seed';
import { openOrm } from '../subgraphs/kit/src/orm';
import { ordersEntities, ordersMigrations } from '../subgraphs/orders/src/mikro-orm.config';
import { seedOrders } from '../subgraphs/orders/src/seeds/orders.seed';
import { paymentsEntities, paymentsMigrations } from '../subgraphs/payments/src/mikro-orm.config';
import { portfolioEntities, portfolioMigrations } from '../subgraphs/portfolio/src/mikro-orm.config';
import { signalsEntities, signalsMigrations } from '../subgraphs/signals/src/mikro-orm.config';
import { tradingEntities, tradingMigrations } from '../subgraphs/trading/src/mikro-orm.config';
import { seedPaperAccounts } from '../subgraphs/trading/src/seeds/accounts.seed';
import { seedTrading } from '../subgraphs/trading/src/seeds/trading.seed';
import { usersEntities, usersMigrations } from '../subgraphs/users/src/mikro-orm.config';
import { seedUsers } from '../subgraphs/users/src/seeds/users.seed';
import { DEMO_CATEGORIES, DEMO_PAPER_ACCOUNTS, DEMO_USERS, type DemoProduct } from './demo-data';

export const ROOT = path.resolve(__dirname, '..');

/** A subgraph as a process: where its entry point is, its default port, and how to seed its database. */
export interface SubgraphProcess {
  name: string;
  port: number;
  main: string;
  seed(databaseUrl: string, products: DemoProduct[]): Promise<void>;
}

async function withOrm(databaseUrl: string, entities: unknown, migrations: unknown, work: (em: any) => Promise<unknown>): Promise<void> {
  const orm = await openOrm({ databaseUrl, entities: entities as never, migrations: migrations as never, poolSize: 2 });
  try {
    await work(orm.em.fork());
  } finally {
    await orm.close();
  }
}

export const SUBGRAPH_PROCESSES: SubgraphProcess[] = [
  {
    name: 'users',
    port: 4001,
    main: 'subgraphs/users/src/main.ts',
    seed: (url) => withOrm(url, usersEntities, usersMigrations, (em) => seedUsers(em, DEMO_USERS)),
  },
  {
    name: 'catalog',
    port: 4002,
    main: 'subgraphs/catalog/src/main.ts',
    seed: (url, products) => withOrm(url, catalogEntities, catalogMigrations, (em) => seedCatalog(em, DEMO_CATEGORIES, products)),
  },
  {
    name: 'orders',
    port: 4003,
    main: 'subgraphs/orders/src/main.ts',
    seed: (url, products) => withOrm(url, ordersEntities, ordersMigrations, (em) => seedOrders(em, products)),
  },
  {
    name: 'payments',
    port: 4004,
    main: 'subgraphs/payments/src/main.ts',
    seed: (url) => withOrm(url, paymentsEntities, paymentsMigrations, async () => undefined),
  },
  {
    name: 'inventory',
    port: 4005,
    main: 'subgraphs/inventory/src/main.ts',
    seed: (url, products) => withOrm(url, inventoryEntities, inventoryMigrations, (em) => seedInventory(em, products)),
  },
  {
    name: 'trading',
    port: 4006,
    main: 'subgraphs/trading/src/main.ts',
    seed: (url) =>
      withOrm(url, tradingEntities, tradingMigrations, async (em) => {
        await seedTrading(em);
        await seedPaperAccounts(em, DEMO_PAPER_ACCOUNTS);
      }),
  },
  {
    name: 'portfolio',
    port: 4007,
    main: 'subgraphs/portfolio/src/main.ts',
    // Portfolios are built from fills; nothing to seed.
    seed: (url) => withOrm(url, portfolioEntities, portfolioMigrations, async () => undefined),
  },
  {
    name: 'signals',
    port: 4008,
    main: 'subgraphs/signals/src/main.ts',
    seed: (url) => withOrm(url, signalsEntities, signalsMigrations, async () => undefined),
  },
  {
    name: 'analytics',
    port: 4009,
    main: 'subgraphs/analytics/src/main.ts',
    // Rollups are built from events; nothing to seed.
    seed: (url) => withOrm(url, analyticsEntities, analyticsMigrations, async () => undefined),
  },
];

/** Where `npm run build` writes the JavaScript the image runs. */
export const BUILD_DIR = path.join(ROOT, 'dist');

/** The compiled file of a TypeScript entry point (`subgraphs/users/src/main.ts` → `dist/subgraphs/users/src/main.js`), relative to `ROOT` unless `outDir` is absolute. */
export const compiledEntry = (script: string, outDir = path.relative(ROOT, BUILD_DIR)): string => path.join(outDir, script.replace(/\.ts$/, '.js'));

/** Compiles the processes' code as the image does (tsconfig.build.json); incremental, so an unchanged tree takes a few seconds. */
export function build(outDir = BUILD_DIR): void {
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', outDir, '--tsBuildInfoFile', path.join(outDir, '.tsbuildinfo')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

let built = false;

/**
 * Runs an entry point as the image does: compiled (built once per run of the caller), with the V8
 * flags of deploy/Dockerfile, as a child process, optionally pinned to one CPU core.
 */
export function launchNode(script: string, env: Record<string, string>, options: { cpu?: number; quiet?: boolean } = {}): ChildProcess {
  if (!built) {
    build();
    built = true;
  }
  const profile = process.env.CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CPU_PROFILE_DIR}`] : [];
  const node = [process.execPath, ...profile, '--max-semi-space-size=32', '--enable-source-maps', path.join(ROOT, compiledEntry(script))];
  const [command, ...args] = options.cpu === undefined ? node : ['taskset', '-c', String(options.cpu), ...node];
  return spawn(command!, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: options.quiet ? ['ignore', 'pipe', 'inherit'] : 'inherit',
  });
}

export async function healthy(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health`)).ok;
  } catch {
    return false;
  }
}

/** Sends SIGTERM to every child still running and waits for them to exit. */
export async function stopChildren(children: ChildProcess[]): Promise<void> {
  const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
  const exits = running.map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const child of running) child.kill('SIGTERM');
  await Promise.all(exits);
}
