/**
 * `npm start`: the whole supergraph on one machine with seeded demo data.
 * Finds (or starts) Postgres and Redis, migrates and seeds each subgraph's database once,
 * starts every subgraph and the router as their own processes, and prints the router URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openOrm } from '../subgraphs/kit/src/orm';
import { DEMO_CATEGORIES, DEMO_PRODUCTS, DEMO_USERS } from './demo-data';
import { ensureDir, ensurePostgres, ensureRedis, waitFor } from './services';

const root = path.resolve(__dirname, '..');
const dataDir = ensureDir(path.join(root, '.data'));

interface SubgraphProcess {
  name: string;
  port: number;
  main: string;
  seed(databaseUrl: string): Promise<void>;
}

async function seedWith<T>(databaseUrl: string, config: { entities: T; migrations: unknown }, seed: (em: any) => Promise<void>): Promise<void> {
  const orm = await openOrm({ databaseUrl, entities: config.entities as never, migrations: config.migrations as never, poolSize: 2 });
  try {
    await seed(orm.em.fork());
  } finally {
    await orm.close();
  }
}

const SUBGRAPHS: SubgraphProcess[] = [
  {
    name: 'users',
    port: 4001,
    main: 'subgraphs/users/src/main.ts',
    seed: async (url) => {
      const { usersEntities, usersMigrations } = await import('../subgraphs/users/src/mikro-orm.config');
      const { seedUsers } = await import('../subgraphs/users/src/seeds/users.seed');
      await seedWith(url, { entities: usersEntities, migrations: usersMigrations }, (em) => seedUsers(em, DEMO_USERS));
    },
  },
  {
    name: 'catalog',
    port: 4002,
    main: 'subgraphs/catalog/src/main.ts',
    seed: async (url) => {
      const { catalogEntities, catalogMigrations } = await import('../subgraphs/catalog/src/mikro-orm.config');
      const { seedCatalog } = await import('../subgraphs/catalog/src/seeds/catalog.seed');
      await seedWith(url, { entities: catalogEntities, migrations: catalogMigrations }, (em) => seedCatalog(em, DEMO_CATEGORIES, DEMO_PRODUCTS));
    },
  },
  {
    name: 'inventory',
    port: 4005,
    main: 'subgraphs/inventory/src/main.ts',
    seed: async (url) => {
      const { inventoryEntities, inventoryMigrations } = await import('../subgraphs/inventory/src/mikro-orm.config');
      const { seedInventory } = await import('../subgraphs/inventory/src/seeds/inventory.seed');
      await seedWith(url, { entities: inventoryEntities, migrations: inventoryMigrations }, (em) => seedInventory(em, DEMO_PRODUCTS));
    },
  },
];

/** One signing key for the users subgraph, kept across restarts so issued sessions stay valid. */
function signingKey(): string {
  const file = path.join(dataDir, 'jwt-private-key.pem');
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8');
}

async function healthy(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health`)).ok;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const postgres = await ensurePostgres(dataDir, process.env.POSTGRES_URL);
  const redis = await ensureRedis(process.env.REDIS_URL);
  const children: ChildProcess[] = [];
  let stopping = false;

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    const exits = children.filter((child) => child.exitCode === null).map((child) => new Promise((resolve) => child.once('exit', resolve)));
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(exits);
    await redis.stop();
    await postgres.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  const launch = (name: string, main: string, env: Record<string, string>) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, main)], {
      cwd: root,
      env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'development', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', REDIS_URL: redis.url, ...env },
      stdio: 'inherit',
    });
    child.once('exit', (code) => {
      if (!stopping) {
        console.error(`${name} exited with code ${code}; stopping the stack`);
        void stopAll(1);
      }
    });
    children.push(child);
  };

  const jwksUrl = 'http://127.0.0.1:4001/.well-known/jwks.json';
  for (const subgraph of SUBGRAPHS) {
    const databaseUrl = `${postgres.url}/mercado_${subgraph.name}`;
    await subgraph.seed(databaseUrl);
    launch(subgraph.name, subgraph.main, {
      PORT: String(subgraph.port),
      DATABASE_URL: databaseUrl,
      JWKS_URL: jwksUrl,
      ...(subgraph.name === 'users' ? { JWT_PRIVATE_KEY: signingKey() } : {}),
    });
  }
  await Promise.all(SUBGRAPHS.map((subgraph) => waitFor(subgraph.name, () => healthy(subgraph.port), 60_000)));

  launch('router', 'router/src/main.ts', { PORT: '4000', JWKS_URL: jwksUrl, SUPERGRAPH_PATH: path.join(root, 'schema/supergraph.graphql') });
  await waitFor('router', () => healthy(4000), 60_000);

  console.log(
    [
      '',
      'Mercado is up.',
      '  Router (GraphQL and Apollo Sandbox): http://localhost:4000/graphql',
      ...SUBGRAPHS.map((subgraph) => `  ${subgraph.name.padEnd(9)} subgraph: http://localhost:${subgraph.port}/graphql`),
      '  Demo accounts (login mutation):',
      ...DEMO_USERS.map((user) => `    ${user.role.padEnd(8)} ${user.email} / ${user.password}`),
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  console.error('npm start failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
