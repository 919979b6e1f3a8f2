/**
 * `npm run bench:checkout`: N concurrent checkouts through the router with the development payment
 * provider, every subgraph its own process. Measures saga completion (checkout request sent → order
 * PAID, from the orders subgraph's state history) and orders/s, then checks every effect exactly once.
 */
import { randomUUID, createPrivateKey } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { SignJWT } from 'jose';
import { Client } from 'pg';
import { JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER } from '../subgraphs/kit/src/auth';
import { listFailed } from '../subgraphs/kit/src/events';
import { DEMO_PRODUCTS, type DemoProduct } from '../scripts/demo-data';
import { waitFor } from '../scripts/services';
import { healthy, launchNode, stopChildren, SUBGRAPH_PROCESSES } from '../scripts/stack';
import { commandCpuMs, cpuMs } from './cpu';
import { appendResults } from './results';
import { REDIS, startProcessStack } from './stack';

const CHECKOUTS = Number(process.env.BENCH_CHECKOUTS ?? 1000);
/** Goods the customers spread over; 1 makes every checkout fight for one stock row. */
const GOODS = Number(process.env.BENCH_GOODS ?? 20);
const ROUTER_PORT = 4400;
const KEY_ID = 'bench-checkout';
const PRICE = 2500;
/** Stock for exactly the checkouts: customer i buys good i % GOODS. */
const GOODS_SOLD: DemoProduct[] = Array.from({ length: GOODS }, (_, index) => ({
  id: `00000000-0000-4000-a000-${String(index + 1).padStart(12, '0')}`,
  sku: `BENCH-CHECKOUT-${index + 1}`,
  name: `Checkout bench good ${index + 1}`,
  description: 'Stock for the checkout benchmark.',
  kind: 'GOOD',
  priceAmount: PRICE,
  currency: 'USD',
  category: 'hardware',
  attributes: {},
  stock: { onHand: Math.floor(CHECKOUTS / GOODS) + (index < CHECKOUTS % GOODS ? 1 : 0), lowStockThreshold: 0 },
}));

const ADD = 'mutation($id: ID!) { addToCart(productId: $id, quantity: 1) { total { amount } } }';
const CHECKOUT = 'mutation($input: CheckoutInput!) { checkout(input: $input) { id } }';

async function post(url: string, query: string, variables: Record<string, unknown>, token: string): Promise<any> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: any; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
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

async function main(): Promise<void> {
  const stack = await startProcessStack({ portOffset: 300, products: [...DEMO_PRODUCTS, ...GOODS_SOLD], env: { JWT_KEY_ID: KEY_ID } });
  const routerProcesses: ChildProcess[] = [];
  try {
    routerProcesses.push(launchNode('router/src/main.ts', { SUPERGRAPH_PATH: stack.supergraphPath, NODE_ENV: 'production', LOG_LEVEL: 'warn', JWKS_URL: stack.jwksUrl, PORT: String(ROUTER_PORT) }, { quiet: true }));
    await waitFor('router', () => healthy(ROUTER_PORT), 60_000);
    const url = `http://127.0.0.1:${ROUTER_PORT}/graphql`;

    // Customers are minted as tokens signed with the users subgraph's key: logins are not what this measures.
    const key = createPrivateKey(stack.signingKey);
    const tokens = await Promise.all(
      Array.from({ length: CHECKOUTS }, () =>
        new SignJWT({ role: 'CUSTOMER', scopes: [] })
          .setProtectedHeader({ alg: JWT_ALGORITHM, kid: KEY_ID })
          .setSubject(randomUUID())
          .setIssuer(JWT_ISSUER)
          .setAudience(JWT_AUDIENCE)
          .setIssuedAt()
          .setExpirationTime('1h')
          .sign(key),
      ),
    );
    await Promise.all(tokens.map((token, index) => post(url, ADD, { id: GOODS_SOLD[index % GOODS]!.id }, token)));

    const processes = [
      { name: 'router', pid: routerProcesses[0]!.pid },
      ...SUBGRAPH_PROCESSES.map((subgraph, index) => ({ name: subgraph.name, pid: stack.children[index]?.pid })),
    ];
    const cpuBefore = processes.map((entry) => cpuMs(entry.pid));
    const postgresBefore = commandCpuMs('postgres');
    const redisBefore = commandCpuMs('redis-server');
    const sentAt = new Map<string, number>();
    const started = Date.now();
    await Promise.all(
      tokens.map(async (token) => {
        const sent = Date.now();
        const data = await post(url, CHECKOUT, { input: { idempotencyKey: randomUUID(), paymentMethod: 'dev-card' } }, token);
        sentAt.set(data.checkout.id as string, sent);
      }),
    );
    const accepted = Date.now();

    const orders = stack.databases.orders!;
    await waitFor(
      'every saga',
      async () => {
        const [row] = await query<{ open: string }>(orders, `select count(*) as open from "orders" where "status" not in ('PAID', 'FULFILLED', 'CANCELLED')`);
        return Number(row!.open) === 0;
      },
      600_000,
    );
    // Commits follow PAID through one more hop (OrderConfirmed → inventory).
    await waitFor(
      'stock commits',
      async () => {
        const [row] = await query<{ reserved: string }>(stack.databases.inventory!, `select coalesce(sum("reserved"), 0) as "reserved" from "stock_level" where "product_id" like '00000000-0000-4000-a000-%'`);
        return Number(row!.reserved) === 0;
      },
      120_000,
    ).catch(() => undefined);
    const perOrder = (before: number | null, after: number | null) => (before === null || after === null ? 'n/a' : ((after - before) / CHECKOUTS).toFixed(2));
    const cpu = processes.map((entry, index) => perOrder(cpuBefore[index]!, cpuMs(entry.pid)));
    const postgresMs = perOrder(postgresBefore, commandCpuMs('postgres'));
    const redisMs = perOrder(redisBefore, commandCpuMs('redis-server'));
    const hops = await query<{ reserve_ms: number; pay_ms: number }>(
      orders,
      `select extract(epoch from (a."at" - p."at")) * 1000 as reserve_ms, extract(epoch from (d."at" - a."at")) * 1000 as pay_ms
         from "order_history" p
         join "order_history" a on a."order_id" = p."order_id" and a."status" = 'AWAITING_PAYMENT'
         join "order_history" d on d."order_id" = p."order_id" and d."status" = 'PAID'
        where p."status" = 'PENDING'`,
    );
    const median = (values: number[]) => Math.round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0);
    const paid = await query<{ order_id: string; at: Date; paid_rows: string }>(
      orders,
      `select "order_id", min("at") as "at", count(*) as "paid_rows" from "order_history" where "status" = 'PAID' group by "order_id"`,
    );
    const durations = paid.map((row) => row.at.getTime() - sentAt.get(row.order_id)!).sort((a, b) => a - b);
    const finished = Math.max(...paid.map((row) => row.at.getTime()));

    // Exactly-once checks across the three databases and the queues.
    const [orderCounts] = await query<{ total: string; paid: string; cancelled: string }>(
      orders,
      `select count(*) as total, count(*) filter (where "status" = 'PAID') as paid, count(*) filter (where "status" = 'CANCELLED') as cancelled from "orders"`,
    );
    const [payments] = await query<{ total: string; succeeded: string; amount: string }>(
      stack.databases.payments!,
      `select count(*) as total, count(*) filter (where "status" = 'SUCCEEDED') as succeeded, coalesce(sum("amount"), 0) as amount from "payment"`,
    );
    const [stock] = await query<{ on_hand: string; reserved: string }>(
      stack.databases.inventory!,
      `select sum("on_hand") as "on_hand", sum("reserved") as "reserved" from "stock_level" where "product_id" like '00000000-0000-4000-a000-%'`,
    );
    const failed = (await Promise.all(SUBGRAPH_PROCESSES.map((subgraph) => listFailed(REDIS, subgraph.name, { prefix: stack.eventsPrefix })))).flat();
    const problems = [
      Number(orderCounts!.total) !== CHECKOUTS && `orders ${orderCounts!.total} != ${CHECKOUTS}`,
      Number(orderCounts!.paid) !== CHECKOUTS && `paid ${orderCounts!.paid} != ${CHECKOUTS}`,
      paid.some((row) => Number(row.paid_rows) !== 1) && 'an order was marked PAID twice',
      Number(payments!.total) !== CHECKOUTS && `payments ${payments!.total} != ${CHECKOUTS}`,
      Number(payments!.succeeded) !== CHECKOUTS && `succeeded payments ${payments!.succeeded} != ${CHECKOUTS}`,
      Number(payments!.amount) !== CHECKOUTS * PRICE && `charged ${payments!.amount} != ${CHECKOUTS * PRICE}`,
      (Number(stock!.on_hand) !== 0 || Number(stock!.reserved) !== 0) && `stock left on_hand ${stock!.on_hand} reserved ${stock!.reserved}, expected 0 and 0`,
      failed.length > 0 && `${failed.length} failed event jobs`,
    ].filter(Boolean);

    const seconds = (finished - started) / 1000;
    const lines = [
      `${CHECKOUTS} concurrent checkouts (addToCart done before) of ${GOODS} goods (stock for exactly these orders) through the router, development payment provider; every subgraph and the router its own process on this machine.`,
      '',
      '| checkouts | accepted in s | saga p50 ms | saga p95 ms | saga p99 ms | max ms | orders/s | lost or duplicated effects |',
      '|---|---|---|---|---|---|---|---|',
      `| ${CHECKOUTS} | ${((accepted - started) / 1000).toFixed(2)} | ${percentile(durations, 50)} | ${percentile(durations, 95)} | ${percentile(durations, 99)} | ${durations.at(-1)} | ${(CHECKOUTS / seconds).toFixed(1)} | ${problems.length === 0 ? 'none' : problems.join('; ')} |`,
      '',
      `Median hops: PENDING → AWAITING_PAYMENT (OrderPlaced → inventory → StockReserved → orders) ${median(hops.map((hop) => Number(hop.reserve_ms)))} ms; AWAITING_PAYMENT → PAID (PaymentRequested → payments → PaymentSucceeded → orders) ${median(hops.map((hop) => Number(hop.pay_ms)))} ms.`,
      '',
      'CPU per order from the first checkout until the stock commits (Postgres and Redis count their whole servers), ms:',
      '',
      `| ${processes.map((entry) => entry.name).join(' | ')} | postgres | redis |`,
      `|${'---|'.repeat(processes.length + 2)}`,
      `| ${cpu.join(' | ')} | ${postgresMs} | ${redisMs} |`,
      '',
      `Target: 1,000 concurrent checkouts with p95 under 1 s and zero lost or duplicated effects: ${CHECKOUTS >= 1000 && percentile(durations, 95) < 1000 && problems.length === 0 ? 'met' : 'not met'}.`,
    ];
    console.log(lines.join('\n'));
    appendResults('bench:checkout', lines);
    if (problems.length > 0) process.exitCode = 1;
  } finally {
    await stopChildren(routerProcesses);
    await stack.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
