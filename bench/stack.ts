import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { cleanupRedis } from '../subgraphs/kit/src/events/testing';
import { printFederatedSdl } from '../subgraphs/kit/src/federation';
import { dropDatabase } from '../subgraphs/kit/src/orm';
import { composeSupergraph } from '../scripts/composition';
import type { DemoProduct } from '../scripts/demo-data';
import { waitFor } from '../scripts/services';
import { healthy, launchNode, stopChildren, SUBGRAPH_PROCESSES } from '../scripts/stack';
import { SUBGRAPH_SCHEMAS } from '../scripts/subgraphs';

export const POSTGRES = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Every subgraph as its own production-mode process on fresh databases and its own event queues. */
export interface ProcessStack {
  supergraphPath: string;
  /** PKCS8 PEM the users subgraph signs with, so a benchmark can mint tokens without logins. */
  signingKey: string;
  jwksUrl: string;
  databases: Record<string, string>;
  ports: Record<string, number>;
  eventsPrefix: string;
  children: ChildProcess[];
  close(): Promise<void>;
}

/** An SMTP relay that accepts every mail and drops it: users requires `SMTP_URL` in production. */
async function startMailSink(): Promise<{ url: string; close(): Promise<void> }> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      stream.on('end', () => callback());
      stream.resume();
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  return { url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export async function startProcessStack(options: { portOffset: number; products: DemoProduct[]; env?: Record<string, string> }): Promise<ProcessStack> {
  const children: ChildProcess[] = [];
  const eventsPrefix = `bench-${randomBytes(4).toString('hex')}`;
  const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const databases: Record<string, string> = {};
  const ports: Record<string, number> = {};
  const routing: { name: string; url: string; sdl: string }[] = [];
  const jwksUrl = `http://127.0.0.1:${4001 + options.portOffset}/.well-known/jwks.json`;
  const mail = await startMailSink();
  const close = async () => {
    await stopChildren(children);
    await mail.close();
    if (!process.env.BENCH_KEEP_DATABASES) for (const databaseUrl of Object.values(databases)) await dropDatabase(databaseUrl).catch(() => undefined);
    await cleanupRedis(eventsPrefix, SUBGRAPH_PROCESSES.map((subgraph) => subgraph.name)).catch(() => undefined);
  };
  try {
    for (const subgraph of SUBGRAPH_PROCESSES) {
      const databaseUrl = `${POSTGRES}/mercado_bench_${subgraph.name}`;
      databases[subgraph.name] = databaseUrl;
      await dropDatabase(databaseUrl);
      await subgraph.seed(databaseUrl, options.products);
      const port = subgraph.port + options.portOffset;
      ports[subgraph.name] = port;
      const env = {
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        REDIS_URL: REDIS,
        EVENTS_PREFIX: eventsPrefix,
        JWKS_URL: jwksUrl,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        JWT_PRIVATE_KEY: signingKey,
        TOTP_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        // Required in production by signals (it signs screenshot URLs).
        SCREENSHOT_URL_SECRET: randomBytes(32).toString('base64'),
        // Required in production by signals (TradingView sessions) and trading (exchange keys).
        SECRETS_KEYS: `bench:${randomBytes(32).toString('base64')}`,
        CREDENTIALS_KEYS: `bench:${randomBytes(32).toString('base64')}`,
        // Required in production by users (its mail).
        SMTP_URL: mail.url,
        ...options.env,
      };
      children.push(launchNode(subgraph.main, env, { quiet: true }));
      routing.push({ name: subgraph.name, url: `http://127.0.0.1:${port}/graphql`, sdl: printFederatedSdl(await SUBGRAPH_SCHEMAS[subgraph.name]!()) });
    }
    const supergraphPath = path.join(mkdtempSync(path.join(tmpdir(), 'mercado-bench-')), 'supergraph.graphql');
    writeFileSync(supergraphPath, composeSupergraph(routing).supergraphSdl);
    await Promise.all(SUBGRAPH_PROCESSES.map((subgraph) => waitFor(subgraph.name, () => healthy(ports[subgraph.name]!), 60_000)));
    return { supergraphPath, signingKey, jwksUrl, databases, ports, eventsPrefix, children, close };
  } catch (error) {
    await close();
    throw error;
  }
}
