/**
 * `npm run bench:trading`: trade order placements through the router on the paper exchange (every
 * subgraph and the router its own process), then trigger latency: stops placed around the moving
 * paper market, measured from the price tick that crossed each stop to its order triggering.
 *
 * Placements: two runs of BENCH_TRADING_ORDERS (default 5000) MARKET orders of BENCH_TRADING_USERS
 * users, each filled, settled and evented in its request. The first sends them open loop at
 * BENCH_TRADING_RATE per second (default 500), one due every 1/500 s whatever the answers, latency
 * counted from when each was due: that is how "500/s with p99 under 50 ms" is checked (a closed loop
 * with 50 in flight at 500/s means 100 ms on average). The second keeps BENCH_TRADING_CONCURRENCY
 * (default 50) in flight, for the most placements per second; BENCH_TRADING_RATE=0 runs only that one.
 * Before each, BENCH_TRADING_WARMUP (default 2000) placements go the same way, unmeasured, their
 * events are consumed, and the databases are vacuumed and analysed (autovacuum's work in production).
 * Triggers: BENCH_TRADING_STOPS (default 500) STOP_MARKET orders just above and below the last price,
 * crossed by the paper feed ticking every 50 ms. Two figures: tick → trigger transaction started
 * (exact, from each order's trigger_tick_at and triggered_at), and tick → trigger committed (the
 * engine's trading_trigger_latency_seconds histogram on trading's /metrics).
 *
 * BENCH_TRADING_TARGET=trading sends the placements straight to the trading subgraph instead of the
 * router, to tell the router's share from trading's. Where /proc is readable, the CPU each process
 * used during the first run is reported per placement (router, trading, the other subgraphs,
 * Postgres: every backend of the server, other databases' included).
 */
import { createPrivateKey, randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { SignJWT } from 'jose';
import { Client } from 'pg';
import { Pool } from 'undici';
import { JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER } from '../subgraphs/kit/src/auth';
import { bullConnection, eventQueueName } from '../subgraphs/kit/src/events';
import { DEMO_PRODUCTS } from '../scripts/demo-data';
import { waitFor } from '../scripts/services';
import { healthy, launchNode, stopChildren, SUBGRAPH_PROCESSES } from '../scripts/stack';
import { commandCpuMs, cpuMs } from './cpu';
import { appendResults } from './results';
import { REDIS, startProcessStack } from './stack';

const ORDERS = Number(process.env.BENCH_TRADING_ORDERS ?? 5000);
const WARMUP = Number(process.env.BENCH_TRADING_WARMUP ?? 2000);
const USERS = Number(process.env.BENCH_TRADING_USERS ?? 50);
const CONCURRENCY = Number(process.env.BENCH_TRADING_CONCURRENCY ?? 50);
const STOPS = Number(process.env.BENCH_TRADING_STOPS ?? 500);
const TARGET = process.env.BENCH_TRADING_TARGET === 'trading' ? 'trading' : 'router';
const RATE = Number(process.env.BENCH_TRADING_RATE ?? 500);
const PORT_OFFSET = 800;
const ROUTER_PORT = 4000 + PORT_OFFSET;
const TRADING_PORT = 4006 + PORT_OFFSET;
const KEY_ID = 'bench-trading';
const SYMBOL = 'BTC/USDT';
const QUANTITY = '0.001';

const LINK = 'mutation($input: LinkExchangeAccountInput!) { linkExchangeAccount(input: $input) { id } }';
const PLACE = 'mutation($input: PlaceTradeOrderInput!) { placeTradeOrder(input: $input) { id status } }';
const PRICE = 'query($symbol: String!) { instrument(symbol: $symbol) { lastPrice } }';

interface GraphQLBody {
  data?: any;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** Waits until trading's outbox is published and every event queue is empty; answers the seconds it took. */
async function waitForEventsDrained(tradingDatabase: string, prefix: string): Promise<number> {
  const started = performance.now();
  const queues = SUBGRAPH_PROCESSES.map((subgraph) => new Queue(eventQueueName(subgraph.name), { connection: bullConnection(REDIS), prefix }));
  try {
    await waitFor(
      'the placements\' events consumed',
      async () => {
        const [row] = await query<{ unpublished: string }>(tradingDatabase, `select count(*) as "unpublished" from "outbox" where "published_at" is null`);
        if (Number(row!.unpublished) > 0) return false;
        const counts = await Promise.all(queues.map((queue) => queue.getJobCounts('wait', 'active', 'delayed', 'prioritized')));
        return counts.every((count) => Object.values(count).every((n) => n === 0));
      },
      300_000,
    );
  } finally {
    await Promise.all(queues.map((queue) => queue.close()));
  }
  return (performance.now() - started) / 1000;
}

// Keep-alive pools, not fetch: fetch's web streams cost this process more CPU per placement than the router spends on it.
const pools = new Map<string, Pool>();

async function post(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<GraphQLBody> {
  const { origin, pathname } = new URL(url);
  let pool = pools.get(origin);
  if (!pool) pools.set(origin, (pool = new Pool(origin, { connections: CONCURRENCY * 2, pipelining: 1 })));
  const response = await pool.request({
    method: 'POST',
    path: pathname,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.body.json()) as GraphQLBody;
}

async function query<T>(databaseUrl: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const round = (value: number, digits = 1) => Number(value.toFixed(digits));

/** Quantile from a Prometheus histogram's cumulative buckets (linear within a bucket, as histogram_quantile does). */
function histogramQuantile(buckets: { le: number; count: number }[], q: number): number {
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return 0;
  const rank = q * total;
  let previous = { le: 0, count: 0 };
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (!Number.isFinite(bucket.le)) return previous.le;
      return previous.le + ((bucket.le - previous.le) * (rank - previous.count)) / Math.max(1, bucket.count - previous.count);
    }
    previous = bucket;
  }
  return previous.le;
}

async function triggerHistogram(): Promise<{ le: number; count: number }[]> {
  const text = await (await fetch(`http://127.0.0.1:${TRADING_PORT}/metrics`)).text();
  return [...text.matchAll(/^trading_trigger_latency_seconds_bucket\{[^}]*\ble="([^"]+)"[^}]*\} (\d+)/gm)]
    .map((match) => ({ le: match[1] === '+Inf' ? Infinity : Number(match[1]), count: Number(match[2]) }))
    .sort((a, b) => a.le - b.le);
}

async function main(): Promise<void> {
  const stack = await startProcessStack({
    portOffset: PORT_OFFSET,
    products: DEMO_PRODUCTS,
    env: {
      JWT_KEY_ID: KEY_ID,
      // Trading: a fast paper market (stops are crossed within seconds), fresh prices in the database, no risk limits in the way.
      PAPER_TICK_MS: '50',
      PRICE_FLUSH_MS: '200',
      RISK_MAX_ORDER_NOTIONAL: 'none',
      RISK_MAX_POSITION_NOTIONAL: 'none',
      RISK_DAILY_LOSS_LIMIT: 'none',
    },
  });
  const routerProcesses: ChildProcess[] = [];
  try {
    routerProcesses.push(launchNode('router/src/main.ts', { SUPERGRAPH_PATH: stack.supergraphPath, NODE_ENV: 'production', LOG_LEVEL: 'warn', JWKS_URL: stack.jwksUrl, PORT: String(ROUTER_PORT) }, { quiet: true }));
    await waitFor('router', () => healthy(ROUTER_PORT), 60_000);
    const url = `http://127.0.0.1:${ROUTER_PORT}/graphql`;
    const placeUrl = TARGET === 'trading' ? `http://127.0.0.1:${TRADING_PORT}/graphql` : url;

    // Traders are minted as tokens signed with the users subgraph's key: logins are not what this measures.
    const key = createPrivateKey(stack.signingKey);
    const traders = await Promise.all(
      Array.from({ length: USERS }, async () => {
        const token = await new SignJWT({ role: 'TRADER', scopes: [] })
          .setProtectedHeader({ alg: JWT_ALGORITHM, kid: KEY_ID })
          .setSubject(randomUUID())
          .setIssuer(JWT_ISSUER)
          .setAudience(JWT_AUDIENCE)
          .setIssuedAt()
          .setExpirationTime('2h')
          .sign(key);
        const linked = await post(url, LINK, { input: { startingBalances: [{ asset: 'USDT', amount: '1000000000' }, { asset: 'BTC', amount: '100000' }] } }, token);
        if (linked.errors) throw new Error(`link failed: ${JSON.stringify(linked.errors)}`);
        return { token, accountId: linked.data.linkExchangeAccount.id as string };
      }),
    );
    const order = (index: number) => {
      const trader = traders[index % traders.length]!;
      return post(placeUrl, PLACE, { input: { accountId: trader.accountId, clientOrderId: randomUUID(), symbol: SYMBOL, side: index % 2 === 0 ? 'BUY' : 'SELL', type: 'MARKET', quantity: QUANTITY } }, trader.token);
    };
    /** Sends `count` placements open loop at `rate` per second, or with CONCURRENCY in flight when `rate` is 0; `answered` hears each. */
    async function placeAll(count: number, rate: number, answered: (body: GraphQLBody, since: bigint) => void): Promise<void> {
      const started = process.hrtime.bigint();
      if (rate > 0) {
        // Open loop: placement i is due at started + i / rate whatever became of the earlier ones, and its latency counts from then.
        await new Promise<void>((resolve) => {
          let sent = 0;
          let done = 0;
          const send = () => {
            const due = Math.min(count, Math.floor((Number(process.hrtime.bigint() - started) / 1e9) * rate) + 1);
            for (; sent < due; sent += 1) {
              const at = started + BigInt(Math.round((sent / rate) * 1e9));
              void order(sent)
                .catch((error: unknown) => ({ errors: [{ message: String(error) }] }))
                .then((body) => {
                  answered(body, at);
                  done += 1;
                  if (done === count) resolve();
                });
            }
            if (sent < count) setTimeout(send, 1);
          };
          send();
        });
      } else {
        let next = 0;
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            for (;;) {
              const index = next++;
              if (index >= count) return;
              const sent = process.hrtime.bigint();
              answered(await order(index), sent);
            }
          }),
        );
      }
    }

    const trading = stack.databases.trading!;
    const processes = [
      { name: 'router', pid: routerProcesses[0]!.pid },
      ...SUBGRAPH_PROCESSES.map((subgraph, index) => ({ name: subgraph.name, pid: stack.children[index]?.pid })),
    ];
    const perPlacement = (before: number | null, after: number | null) => (before === null || after === null ? null : round((after - before) / ORDERS, 2));

    /**
     * ORDERS placements at `rate` (0: closed loop), after WARMUP unmeasured ones sent the same way
     * (connections, JIT, caches) and their events consumed: the measured ones never pay for a backlog.
     */
    async function measure(rate: number) {
      await placeAll(WARMUP, rate, () => undefined);
      await waitForEventsDrained(trading, stack.eventsPrefix);
      // Statistics and no dead rows, as autovacuum keeps a production server; this machine's Postgres runs
      // without it (CI's settings), and a plan made on an empty table is kept by every connection.
      for (const databaseUrl of Object.values(stack.databases)) await query(databaseUrl, 'vacuum analyze');
      const latencies: number[] = [];
      let failures = 0;
      const cpuBefore = processes.map((entry) => cpuMs(entry.pid));
      const postgresBefore = commandCpuMs('postgres');
      const clientBefore = process.cpuUsage();
      const started = process.hrtime.bigint();
      await placeAll(ORDERS, rate, (body, since) => {
        latencies.push(Number(process.hrtime.bigint() - since) / 1e6);
        if (body.errors || body.data?.placeTradeOrder.status !== 'FILLED') failures += 1;
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const client = process.cpuUsage(clientBefore);
      latencies.sort((a, b) => a - b);
      return {
        rate,
        seconds,
        perSecond: ORDERS / seconds,
        latencies,
        failures,
        cpu: processes.map((entry, index) => ({ name: entry.name, ms: perPlacement(cpuBefore[index]!, cpuMs(entry.pid)) })),
        postgresMs: perPlacement(postgresBefore, commandCpuMs('postgres')),
        clientMs: round((client.user + client.system) / 1000 / ORDERS, 2),
      };
    }

    // The target's rate, then the most a closed loop gets through.
    const runs = RATE > 0 ? [await measure(RATE), await measure(0)] : [await measure(0)];
    const [steady] = runs as [Awaited<ReturnType<typeof measure>>];
    const failures = runs.reduce((sum, run) => sum + run.failures, 0);

    // Triggers on a settled stack: the placements' events (portfolio, analytics) consumed first, so the
    // trigger figures are the engine's and not the tail of the placement phase's backlog.
    const backlogSeconds = await waitForEventsDrained(trading, stack.eventsPrefix);
    const placedStops: string[] = [];
    for (let index = 0; placedStops.length < STOPS && index < STOPS * 5; index += 1) {
      const last = Number((await post(url, PRICE, { symbol: SYMBOL })).data.instrument.lastPrice);
      const buy = index % 2 === 0;
      const offset = 0.01 + (index % 20) * 0.05;
      const stopPrice = (buy ? last + offset : last - offset).toFixed(2);
      const trader = traders[index % traders.length]!;
      const body = await post(url, PLACE, { input: { accountId: trader.accountId, clientOrderId: randomUUID(), symbol: SYMBOL, side: buy ? 'BUY' : 'SELL', type: 'STOP_MARKET', quantity: QUANTITY, stopPrice } }, trader.token);
      // A stop the walk reached between reading the price and placing it is refused; the next one is placed afresh.
      if (!body.errors) placedStops.push(body.data.placeTradeOrder.id);
    }
    const ids = placedStops.map((id) => `'${id}'`).join(', ');
    // A random walk can wander off a stop for long: those still waiting after a minute are counted, not waited for.
    await waitFor(
      'every stop triggered',
      async () => {
        const [row] = await query<{ waiting: string }>(trading, `select count(*) as "waiting" from "trade_order" where "id" in (${ids}) and "triggered_at" is null`);
        return Number(row!.waiting) === 0;
      },
      60_000,
    ).catch(() => undefined);
    const rows = await query<{ ms: number | null; status: string }>(
      trading,
      `select extract(epoch from ("triggered_at" - "trigger_tick_at")) * 1000 as "ms", "status" from "trade_order" where "id" in (${ids})`,
    );
    const untriggered = rows.filter((row) => row.ms === null).length;
    const triggerMs = rows.filter((row) => row.ms !== null).map((row) => Number(row.ms)).sort((a, b) => a - b);
    const unfilled = rows.filter((row) => row.ms !== null && row.status !== 'FILLED').length;
    const histogram = await triggerHistogram();
    const committedP99 = histogramQuantile(histogram, 0.99) * 1000;
    const total = histogram.at(-1)?.count ?? 0;
    const within20 = total === 0 ? 0 : (histogram.find((bucket) => bucket.le === 0.02)?.count ?? 0) / total;

    const met = (ok: boolean) => (ok ? 'met' : 'not met');
    const lines = [
      `MARKET orders (${QUANTITY} ${SYMBOL}, buys and sells) of ${USERS} paper accounts ${TARGET === 'router' ? 'through the router' : 'straight to the trading subgraph (no router)'}, each filled with fee and slippage, balances, position and events written in its request. Each run: ${WARMUP} unmeasured placements sent the same way, their events consumed, the databases vacuumed and analysed (autovacuum is off on this machine), then ${ORDERS} measured ones${RATE > 0 ? `; at ${RATE}/s they are sent whatever the answers (latency from when each was due), then as fast as ${CONCURRENCY} in flight allow` : `, ${CONCURRENCY} in flight`}. Every subgraph and the router its own process on this machine.`,
      '',
      '| run | placements | seconds | placements/s | p50 ms | p95 ms | p99 ms | max ms | failed |',
      '|---|---|---|---|---|---|---|---|---|',
      ...runs.map(
        (run) =>
          `| ${run.rate > 0 ? `${run.rate}/s, open loop` : `${CONCURRENCY} in flight`} | ${ORDERS} | ${round(run.seconds, 2)} | ${round(run.perSecond)} | ${round(percentile(run.latencies, 50))} | ${round(percentile(run.latencies, 95))} | ${round(percentile(run.latencies, 99))} | ${round(run.latencies.at(-1) ?? 0)} | ${run.failures} |`,
      ),
      '',
      `CPU per placement during the ${steady.rate > 0 ? `${steady.rate}/s` : 'placement'} run, ms (consumers of the events included; Postgres's figure counts the whole server):`,
      '',
      `| ${steady.cpu.map((entry) => entry.name).join(' | ')} | postgres | this benchmark |`,
      `|${'---|'.repeat(steady.cpu.length + 2)}`,
      `| ${steady.cpu.map((entry) => entry.ms ?? 'n/a').join(' | ')} | ${steady.postgresMs ?? 'n/a'} | ${steady.clientMs} |`,
      '',
      `${placedStops.length} STOP_MARKET orders a few cents to a dollar from the paper market (ticking every 50 ms), triggered by its walk, placed once the placements' events were consumed (${round(backlogSeconds, 1)} s after the last placement); latency from the tick that crossed each stop:`,
      '',
      '| stops | triggered | tick → trigger started p50 ms | p99 ms | max ms | tick → trigger committed p99 ms (histogram) | committed within 20 ms | triggered, not filled |',
      '|---|---|---|---|---|---|---|---|',
      `| ${placedStops.length} | ${placedStops.length - untriggered} | ${round(percentile(triggerMs, 50), 2)} | ${round(percentile(triggerMs, 99), 2)} | ${round(triggerMs.at(-1) ?? 0, 2)} | ${round(committedP99, 2)} | ${round(within20 * 100)} % | ${unfilled} |`,
      '',
      `Tick → trigger committed, triggers per bucket (ms): ${histogram
        .map((bucket, index) => ({ le: bucket.le, count: bucket.count - (histogram[index - 1]?.count ?? 0) }))
        .filter((bucket) => bucket.count > 0)
        .map((bucket) => `≤ ${bucket.le === Infinity ? '∞' : round(bucket.le * 1000, 1)}: ${bucket.count}`)
        .join(', ')}.`,
      '',
      `Targets: 500 placements/s with p99 under 50 ms${TARGET === 'router' ? '' : ' (set for the router; measured here without it)'}: ${met((steady.rate > 0 ? steady.rate >= 500 : steady.perSecond >= 500) && percentile(steady.latencies, 99) < 50 && steady.failures === 0)}. Trigger latency p99 under 20 ms: ${met(within20 >= 0.99 && percentile(triggerMs, 99) < 20)}.`,
    ];
    console.log(lines.join('\n'));
    appendResults('bench:trading', lines);
    if (failures > 0 || unfilled > 0) process.exitCode = 1;
  } finally {
    await Promise.all([...pools.values()].map((pool) => pool.close()));
    await stopChildren(routerProcesses);
    await stack.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
