/**
 * `npm start`: the whole supergraph on one machine with seeded demo data.
 * Finds (or starts) Postgres and Redis, migrates and seeds each subgraph's database once,
 * starts every subgraph and the router as their own processes, and prints the router URL.
 */
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEMO_PRODUCTS, DEMO_USERS } from './demo-data';
import { ensureDir, ensurePostgres, ensureRedis, waitFor } from './services';
import { healthy, launchNode, ROOT, stopChildren, SUBGRAPH_PROCESSES } from './stack';

const dataDir = ensureDir(path.join(ROOT, '.data'));
const ROUTER_PORT = 4000;

/** One signing key for the users subgraph, kept across restarts so issued sessions stay valid. */
function signingKey(): string {
  const file = path.join(dataDir, 'jwt-private-key.pem');
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8');
}

async function main(): Promise<void> {
  const postgres = await ensurePostgres(dataDir, process.env.POSTGRES_URL);
  const redis = await ensureRedis(process.env.REDIS_URL);
  const children: ChildProcess[] = [];
  let stopping = false;

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await stopChildren(children);
    await redis.stop();
    await postgres.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  const common = { NODE_ENV: process.env.NODE_ENV ?? 'development', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', REDIS_URL: redis.url };
  const launch = (name: string, script: string, env: Record<string, string>) => {
    const child = launchNode(script, { ...common, ...env });
    child.once('exit', (code) => {
      if (stopping) return;
      console.error(`${name} exited with code ${code}; stopping the stack`);
      void stopAll(1);
    });
    children.push(child);
  };

  const jwksUrl = `http://127.0.0.1:${SUBGRAPH_PROCESSES[0]!.port}/.well-known/jwks.json`;
  for (const subgraph of SUBGRAPH_PROCESSES) {
    const databaseUrl = `${postgres.url}/mercado_${subgraph.name}`;
    await subgraph.seed(databaseUrl, DEMO_PRODUCTS);
    launch(subgraph.name, subgraph.main, {
      PORT: String(subgraph.port),
      DATABASE_URL: databaseUrl,
      JWKS_URL: jwksUrl,
      ...(subgraph.name === 'users' ? { JWT_PRIVATE_KEY: signingKey() } : {}),
    });
  }
  await Promise.all(SUBGRAPH_PROCESSES.map((subgraph) => waitFor(subgraph.name, () => healthy(subgraph.port), 60_000)));

  launch('router', 'router/src/main.ts', { PORT: String(ROUTER_PORT), JWKS_URL: jwksUrl, SUPERGRAPH_PATH: path.join(ROOT, 'schema/supergraph.graphql') });
  await waitFor('router', () => healthy(ROUTER_PORT), 60_000);

  console.log(
    [
      '',
      'Mercado is up.',
      `  Router (GraphQL and Apollo Sandbox): http://localhost:${ROUTER_PORT}/graphql`,
      ...SUBGRAPH_PROCESSES.map((subgraph) => `  ${subgraph.name.padEnd(9)} subgraph: http://localhost:${subgraph.port}/graphql`),
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
