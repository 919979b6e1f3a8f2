/**
 * `npm run bench:signals`: the TradingView webhook of the signals subgraph, as its own production
 * process (sharing the two cores with Postgres, Redis and the load; BENCH_SIGNALS_CPU pins it to one)
 * with the trading subgraph next to it (candles for the charts).
 *
 * 1. Ingest at a fixed rate: BENCH_RATE alerts/s (default 1000) for BENCH_SECONDS (10), open loop
 *    (a request is sent when it is due, whether earlier ones answered or not), over BENCH_ENDPOINTS
 *    webhook endpoints (20), after BENCH_WARMUP_SECONDS (3) at the same rate that are not measured
 *    (JIT, connections, Postgres's caches). Latency is request sent → answer read, measured here;
 *    the CPU every process used during the run is divided by the alerts.
 * 2. Ingest flat out: BENCH_CONNECTIONS (32) requests in flight for BENCH_MAX_SECONDS (5).
 *    Both runs are then checked: every 200 is one stored signal, nothing else was stored, no 5xx.
 * 3. Unknown and revoked tokens: BENCH_PROBES (1000) of each, interleaved, one at a time; their 404
 *    latencies side by side (a token that exists must not answer measurably slower or faster).
 * 4. Screenshots: a second signals process takes screenshots with real Chromium (SCREENSHOT_CONCURRENCY,
 *    default 2); BENCH_SCREENSHOTS free alerts (60) then half as many premium ones are posted, and
 *    screenshots per minute are counted from the first post to the last READY; premium jobs should
 *    finish first although posted last.
 *
 * The ingest runs' screenshot jobs are discarded before step 4 (that API process takes no
 * screenshots: SCREENSHOT_WORKERS=false, as an API replica at scale). Endpoints are written straight
 * into the signals database (no users process is needed); quotas and the rate limit are raised so
 * they do not refuse the load.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { Pool } from 'undici';
import { cleanupRedis } from '../subgraphs/kit/src/events/testing';
import { dropDatabase } from '../subgraphs/kit/src/orm';
import { hashWebhookToken, newWebhookToken } from '../subgraphs/signals/src/endpoint/endpoint.secrets';
import { SCREENSHOT_QUEUE } from '../subgraphs/signals/src/screenshots';
import { waitFor } from '../scripts/services';
import { healthy, launchNode, stopChildren, SUBGRAPH_PROCESSES } from '../scripts/stack';
import { commandCpuMs, cpuMs, schedMs } from './cpu';
import { appendResults } from './results';
import { POSTGRES, REDIS } from './stack';

const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 5);
const PROBES = Number(process.env.BENCH_PROBES ?? 1000);
const SCREENSHOTS = Number(process.env.BENCH_SCREENSHOTS ?? 60);
const SCREENSHOT_CONCURRENCY = process.env.SCREENSHOT_CONCURRENCY ?? '2';
const SIGNALS_CPU = process.env.BENCH_SIGNALS_CPU === undefined ? undefined : Number(process.env.BENCH_SIGNALS_CPU);
const PORT_OFFSET = 700;
const TRADING_PORT = 4006 + PORT_OFFSET;
const SIGNALS_PORT = 4008 + PORT_OFFSET;
const WORKER_PORT = SIGNALS_PORT + 10;
const SIGNALS_URL = `http://127.0.0.1:${SIGNALS_PORT}`;

interface Answer {
  status: number;
  ms: number;
  body: { ok?: boolean; duplicate?: boolean; signals?: string[]; error?: string };
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const ms = (value: number): string => value.toFixed(2);

async function query<T>(databaseUrl: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

let sequence = 0;
/** A fresh alert (never a retry of another): BUY BTC/USDT on the 15-minute chart. */
const alertBody = (): string => JSON.stringify({ ticker: 'BINANCE:BTCUSDT', action: 'buy', price: '67250.5', interval: '15', time: new Date().toISOString(), n: (sequence += 1) });

async function post(pool: Pool, token: string, body: string): Promise<Answer> {
  const started = process.hrtime.bigint();
  try {
    const response = await pool.request({ method: 'POST', path: `/webhook/u/${token}`, headers: { 'content-type': 'application/json' }, body });
    const text = await response.body.text();
    return { status: response.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6, body: JSON.parse(text) as Answer['body'] };
  } catch (error) {
    return { status: 0, ms: Number(process.hrtime.bigint() - started) / 1e6, body: { error: String(error) } };
  }
}

/** Open loop: `rate` requests a second for `seconds`, each sent when due. */
async function fixedRate(pool: Pool, tokens: string[], rate: number, seconds: number): Promise<{ answers: Answer[]; elapsedS: number }> {
  const total = Math.round(rate * seconds);
  const pending: Promise<Answer>[] = [];
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
      while (pending.length < due) pending.push(post(pool, tokens[pending.length % tokens.length]!, alertBody()));
      if (pending.length >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  const answers = await Promise.all(pending);
  return { answers, elapsedS: (performance.now() - started) / 1000 };
}

/** Closed loop: `connections` requests always in flight for `seconds`. */
async function flatOut(pool: Pool, tokens: string[], connections: number, seconds: number): Promise<{ answers: Answer[]; elapsedS: number }> {
  const answers: Answer[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async (_, lane) => {
      for (let index = lane; performance.now() < deadline; index += connections) answers.push(await post(pool, tokens[index % tokens.length]!, alertBody()));
    }),
  );
  return { answers, elapsedS: (performance.now() - started) / 1000 };
}

function summary(answers: Answer[], elapsedS: number) {
  const latencies = answers.map((answer) => answer.ms).sort((a, b) => a - b);
  const byStatus = new Map<number, number>();
  for (const answer of answers) byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
  return {
    requests: answers.length,
    perSecond: answers.length / elapsedS,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? 0,
    statuses: [...byStatus].map(([status, count]) => `${status}: ${count}`).join(', '),
  };
}

/** `count` webhook endpoints of as many users, written straight into the database; returns their tokens. */
async function createEndpoints(databaseUrl: string, count: number, revoked = false): Promise<string[]> {
  const tokens = Array.from({ length: count }, () => newWebhookToken());
  for (const token of tokens) {
    await query(
      databaseUrl,
      `insert into "webhook_endpoint" ("id", "user_id", "name", "token_hash", "revoked_at") values ($1, $2, 'bench', $3, $4)`,
      [randomUUID(), `bench-${randomUUID()}`, hashWebhookToken(token), revoked ? new Date() : null],
    );
  }
  return tokens;
}

async function main(): Promise<void> {
  const prefix = `bench-signals-${randomBytes(4).toString('hex')}`;
  const screenshotDir = mkdtempSync(path.join(tmpdir(), 'bench-signals-'));
  // Not mercado_bench_<name>: bench/stack.ts uses those names for its stacks.
  const databases = { trading: `${POSTGRES}/mercado_signalsbench_trading`, signals: `${POSTGRES}/mercado_signalsbench_signals` };
  const children: ChildProcess[] = [];
  const common = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    REDIS_URL: REDIS,
    EVENTS_PREFIX: prefix,
    PUBSUB_PREFIX: `${prefix}:pubsub:`,
    JWKS_URL: 'http://127.0.0.1:1/.well-known/jwks.json',
  };
  const signalsEnv = {
    ...common,
    DATABASE_URL: databases.signals,
    PUBLIC_BASE_URL: SIGNALS_URL,
    TRADING_URL: `http://127.0.0.1:${TRADING_PORT}/graphql`,
    SCREENSHOT_URL_SECRET: randomBytes(32).toString('base64url'),
    SECRETS_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    SCREENSHOT_QUEUE_PREFIX: prefix,
    SCREENSHOT_DIR: screenshotDir,
    SIGNALS_QUOTA_FREE: '100000000',
    SIGNALS_QUOTA_PREMIUM: '100000000',
    WEBHOOK_RATE_LIMIT: '1000000',
  };
  const pool = new Pool(SIGNALS_URL, { connections: Math.max(CONNECTIONS, 128), pipelining: 1 });
  const close = async () => {
    await pool.close();
    await stopChildren(children);
    for (const databaseUrl of Object.values(databases)) await dropDatabase(databaseUrl).catch(() => undefined);
    await cleanupRedis(prefix, ['signals', 'analytics']).catch(() => undefined);
    rmSync(screenshotDir, { recursive: true, force: true });
  };
  try {
    for (const port of [TRADING_PORT, SIGNALS_PORT, WORKER_PORT]) {
      if (await healthy(port)) throw new Error(`port ${port} is taken by another process; stop it first`);
    }
    for (const [name, databaseUrl] of Object.entries(databases)) {
      await dropDatabase(databaseUrl);
      await SUBGRAPH_PROCESSES.find((subgraph) => subgraph.name === name)!.seed(databaseUrl, []);
    }
    const tradingProcess = launchNode('subgraphs/trading/src/main.ts', { ...common, PORT: String(TRADING_PORT), DATABASE_URL: databases.trading }, { cpu: 1, quiet: true });
    const signalsProcess = launchNode('subgraphs/signals/src/main.ts', { ...signalsEnv, PORT: String(SIGNALS_PORT), SCREENSHOT_WORKERS: 'false' }, { cpu: SIGNALS_CPU, quiet: true });
    children.push(tradingProcess, signalsProcess);
    await waitFor('trading', () => healthy(TRADING_PORT), 120_000);
    await waitFor('signals', () => healthy(SIGNALS_PORT), 60_000);

    const tokens = await createEndpoints(databases.signals, ENDPOINTS);
    // Warm-up: connections, JIT, the database's plan cache.
    await fixedRate(pool, tokens, RATE, WARMUP_SECONDS);
    const before = Number((await query<{ n: string }>(databases.signals, 'select count(*) as n from "signal"'))[0]!.n);

    const cpuBefore = { signals: cpuMs(signalsProcess.pid), trading: cpuMs(tradingProcess.pid), postgres: commandCpuMs('postgres'), redis: commandCpuMs('redis-server') };
    const clientBefore = process.cpuUsage();
    const schedBefore = schedMs(signalsProcess.pid);
    const fixed = await fixedRate(pool, tokens, RATE, SECONDS);
    const schedAfter = schedMs(signalsProcess.pid);
    const client = process.cpuUsage(clientBefore);
    const perAlert = (before: number | null, after: number | null): string => (before === null || after === null ? 'n/a' : ((after - before) / fixed.answers.length).toFixed(3));
    const cpu = {
      signals: perAlert(cpuBefore.signals, cpuMs(signalsProcess.pid)),
      trading: perAlert(cpuBefore.trading, cpuMs(tradingProcess.pid)),
      postgres: perAlert(cpuBefore.postgres, commandCpuMs('postgres')),
      redis: perAlert(cpuBefore.redis, commandCpuMs('redis-server')),
      client: ((client.user + client.system) / 1000 / fixed.answers.length).toFixed(3),
    };
    const waited =
      schedBefore && schedAfter
        ? { runS: ((schedAfter.runMs - schedBefore.runMs) / 1000).toFixed(2), waitS: ((schedAfter.waitMs - schedBefore.waitMs) / 1000).toFixed(2) }
        : null;
    const fast = await flatOut(pool, tokens, CONNECTIONS, MAX_SECONDS);
    const measured = [...fixed.answers, ...fast.answers];
    const accepted = measured.filter((answer) => answer.status === 200 && answer.body.duplicate === false);
    const ids = new Set(accepted.flatMap((answer) => answer.body.signals ?? []));
    const stored = Number((await query<{ n: string }>(databases.signals, 'select count(*) as n from "signal"'))[0]!.n) - before;
    const failures = measured.filter((answer) => answer.status !== 200);
    const problems = [
      failures.length > 0 && `${failures.length} requests not answered 200 (${summary(failures, 1).statuses})`,
      accepted.length !== measured.length && `${measured.length - accepted.length} answers were not a new signal`,
      ids.size !== accepted.length && `${accepted.length - ids.size} signal ids answered twice`,
      stored !== accepted.length && `${stored} signals stored for ${accepted.length} accepted alerts`,
    ].filter(Boolean) as string[];

    const revokedTokens = await createEndpoints(databases.signals, 10, true);
    const unknown: number[] = [];
    const revoked: number[] = [];
    for (let index = 0; index < PROBES; index += 1) {
      unknown.push((await post(pool, newWebhookToken(), alertBody())).ms);
      revoked.push((await post(pool, revokedTokens[index % revokedTokens.length]!, alertBody())).ms);
    }
    unknown.sort((a, b) => a - b);
    revoked.sort((a, b) => a - b);

    // Screenshots: the ingest runs' jobs are not part of this measurement.
    const jobs = new Queue(SCREENSHOT_QUEUE, { connection: { url: REDIS }, prefix });
    await jobs.obliterate({ force: true });
    await jobs.close();
    await query(databases.signals, `update "signal" set "screenshot_status" = 'FAILED', "screenshot_error" = 'bench: ingest run, not shot' where "screenshot_status" = 'PENDING'`);
    children.push(
      launchNode('subgraphs/signals/src/main.ts', { ...signalsEnv, PORT: String(WORKER_PORT), SCREENSHOT_WORKERS: 'true', SCREENSHOT_CONCURRENCY }, { cpu: 1, quiet: true }),
    );
    await waitFor('screenshot worker', () => healthy(WORKER_PORT), 60_000);
    const [freeToken] = await createEndpoints(databases.signals, 1);
    const premiumUser = `bench-premium-${randomUUID()}`;
    const premiumToken = newWebhookToken();
    await query(databases.signals, `insert into "webhook_endpoint" ("id", "user_id", "name", "token_hash") values ($1, $2, 'bench', $3)`, [randomUUID(), premiumUser, hashWebhookToken(premiumToken)]);
    await query(databases.signals, `insert into "user_plan" ("user_id", "plan", "changed_at") values ($1, 'premium', now())`, [premiumUser]);
    const shotStart = Date.now();
    const free: string[] = [];
    const premium: string[] = [];
    for (let index = 0; index < SCREENSHOTS; index += 1) free.push(...((await post(pool, freeToken!, alertBody())).body.signals ?? []));
    for (let index = 0; index < Math.ceil(SCREENSHOTS / 2); index += 1) premium.push(...((await post(pool, premiumToken, alertBody())).body.signals ?? []));
    const all = [...free, ...premium];
    await waitFor(
      'every screenshot',
      async () => Number((await query<{ n: string }>(databases.signals, `select count(*) as n from "signal" where "id" = any($1::uuid[]) and "screenshot_status" = 'PENDING'`, [all]))[0]!.n) === 0,
      Math.max(600_000, SCREENSHOTS * 10_000),
    );
    const shots = await query<{ subject: string; at: Date }>(
      databases.signals,
      `select "subject", "occurred_at" as "at" from "outbox" where "type" = 'SignalScreenshotReady' and "subject" = any($1::text[])`,
      [all],
    );
    const readyAt = new Map(shots.map((row) => [row.subject, new Date(row.at).getTime()]));
    const lastReady = Math.max(...readyAt.values());
    const perMinute = (readyAt.size / ((lastReady - shotStart) / 60_000));
    const medianReady = (list: string[]) => {
      const times = list.map((id) => readyAt.get(id)).filter((time): time is number => time !== undefined).sort((a, b) => a - b);
      return (percentile(times, 50) - shotStart) / 1000;
    };
    const failedShots = all.length - readyAt.size;
    if (failedShots > 0) problems.push(`${failedShots} screenshots failed`);

    const fixedSummary = summary(fixed.answers, fixed.elapsedS);
    const fastSummary = summary(fast.answers, fast.elapsedS);
    const lines = [
      `Signals webhook as one production process ${SIGNALS_CPU === undefined ? 'free to run on either core' : `pinned to core ${SIGNALS_CPU}`} (trading pinned to core 1, Postgres, Redis and the load generated here on either), ${ENDPOINTS} endpoints, unique JSON alerts; every answer waits for the signal, its SignalReceived and the quota count to be stored.`,
      '',
      '| run | alerts | alerts/s | p50 ms | p99 ms | max ms | answers |',
      '|---|---|---|---|---|---|---|',
      `| fixed rate ${RATE}/s for ${SECONDS} s (after ${WARMUP_SECONDS} s of warm-up) | ${fixedSummary.requests} | ${fixedSummary.perSecond.toFixed(0)} | ${ms(fixedSummary.p50)} | ${ms(fixedSummary.p99)} | ${ms(fixedSummary.max)} | ${fixedSummary.statuses} |`,
      `| flat out, ${CONNECTIONS} in flight for ${MAX_SECONDS} s | ${fastSummary.requests} | ${fastSummary.perSecond.toFixed(0)} | ${ms(fastSummary.p50)} | ${ms(fastSummary.p99)} | ${ms(fastSummary.max)} | ${fastSummary.statuses} |`,
      '',
      `CPU per alert during the fixed-rate run, ms (Postgres and Redis: the whole server): signals ${cpu.signals}, trading ${cpu.trading}, postgres ${cpu.postgres}, redis ${cpu.redis}, this benchmark ${cpu.client}.`,
      ...(waited ? ['', `While the fixed-rate run lasted, signals' main thread ran ${waited.runS} s and waited ${waited.waitS} s runnable but off its core(s), which other processes held.`] : []),
      '',
      `Lost or duplicated alerts: ${problems.length === 0 ? 'none' : problems.join('; ')} (${accepted.length} accepted, ${stored} stored).`,
      '',
      `404 latency, ${PROBES} each, one at a time: unknown token p50 ${ms(percentile(unknown, 50))} ms / p99 ${ms(percentile(unknown, 99))} ms; revoked token p50 ${ms(percentile(revoked, 50))} ms / p99 ${ms(percentile(revoked, 99))} ms (p50 difference ${ms(Math.abs(percentile(unknown, 50) - percentile(revoked, 50)))} ms).`,
      '',
      `Screenshots (real Chromium, one worker process on core 1, concurrency ${SCREENSHOT_CONCURRENCY}): ${readyAt.size} of ${all.length} in ${((lastReady - shotStart) / 1000).toFixed(1)} s = ${perMinute.toFixed(1)} per minute; ${free.length} free alerts posted first, then ${premium.length} premium ones: median READY after ${medianReady(free).toFixed(1)} s (free) and ${medianReady(premium).toFixed(1)} s (premium).`,
      '',
      `Targets: p99 under 10 ms at 1,000 alerts/s with zero lost alerts: ${RATE >= 1000 && fixedSummary.p99 < 10 && problems.length === 0 ? 'met' : 'not met'}; at least 60 screenshots per minute: ${perMinute >= 60 ? 'met' : 'not met'}.`,
    ];
    console.log(lines.join('\n'));
    appendResults('bench:signals', lines);
    if (problems.length > 0) process.exitCode = 1;
  } finally {
    await close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
