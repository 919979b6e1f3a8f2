/**
 * `npm run bench:router`: a nested federated query (50 products with stock and rating) through our
 * router and through stock @apollo/gateway on the same supergraph and the same subgraph processes.
 * Each gateway is pinned to core 0, the load generator to core 1; rounds alternate between them.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { DEMO_PRODUCTS, type DemoProduct } from '../scripts/demo-data';
import { waitFor } from '../scripts/services';
import { healthy, launchNode, ROOT, stopChildren } from '../scripts/stack';
import type { LoadResult } from './load';
import { appendResults } from './results';
import { startProcessStack } from './stack';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PORT_OFFSET = 200;
const OURS = { name: 'mercado router', port: 4300 };
const STOCK = { name: 'stock @apollo/gateway', port: 4301 };

const QUERY = `query BenchProducts { products(first: 50) { edges { node { id sku name kind price { amount currency } averageRating reviewCount stock { onHand reserved available } } } } }`;

/** Demo products plus generated goods, so the query returns 50 products with stock. */
function benchProducts(): DemoProduct[] {
  const extra = Array.from({ length: 40 }, (_, index): DemoProduct => ({
    id: `00000000-0000-4000-9000-${String(index + 1).padStart(12, '0')}`,
    sku: `BENCH-GOOD-${index + 1}`,
    name: `Bench good ${index + 1}`,
    description: 'A generated product for the router benchmark.',
    kind: 'GOOD',
    priceAmount: 1000 + index,
    currency: 'USD',
    category: 'hardware',
    attributes: {},
    stock: { onHand: 100 + index, lowStockThreshold: 5 },
  }));
  return [...DEMO_PRODUCTS, ...extra];
}

function load(port: number): LoadResult {
  const options = { url: `http://127.0.0.1:${port}/graphql`, body: JSON.stringify({ query: QUERY }), connections: CONNECTIONS, seconds: SECONDS };
  const output = execFileSync('taskset', ['-c', '1', process.execPath, '--import', 'tsx', path.join(ROOT, 'bench/load.ts'), JSON.stringify(options)], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(output.trim().split('\n').pop()!) as LoadResult;
}

async function checkAnswer(port: number): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: QUERY }),
  });
  const body = (await response.json()) as { data?: { products: { edges: { node: { stock: unknown } }[] } }; errors?: unknown };
  const edges = body.data?.products.edges ?? [];
  if (body.errors || edges.length !== 50 || !edges.some((edge) => edge.node.stock)) {
    throw new Error(`port ${port} answered wrongly: ${JSON.stringify(body).slice(0, 300)}`);
  }
}

async function main(): Promise<void> {
  const stack = await startProcessStack({ portOffset: PORT_OFFSET, products: benchProducts() });
  const gateways: ChildProcess[] = [];
  try {
    const gatewayEnv = { SUPERGRAPH_PATH: stack.supergraphPath, NODE_ENV: 'production', LOG_LEVEL: 'warn', JWKS_URL: stack.jwksUrl };
    gateways.push(launchNode('router/src/main.ts', { ...gatewayEnv, PORT: String(OURS.port) }, { cpu: 0, quiet: true }));
    gateways.push(launchNode('bench/stock-gateway.ts', { ...gatewayEnv, PORT: String(STOCK.port) }, { cpu: 0, quiet: true }));
    await waitFor('router', () => healthy(OURS.port), 60_000);
    await waitFor('stock gateway', async () => checkAnswer(STOCK.port).then(() => true, () => false), 60_000);
    await checkAnswer(OURS.port);

    // Warm both up (JIT, plan caches, connection pools) before measuring.
    for (const gateway of [OURS, STOCK]) {
      load(gateway.port);
    }

    const results = new Map<string, LoadResult[]>([[OURS.name, []], [STOCK.name, []]]);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [OURS, STOCK] : [STOCK, OURS];
      for (const gateway of order) {
        const result = load(gateway.port);
        results.get(gateway.name)!.push(result);
        console.log(`round ${round + 1} ${gateway.name}: ${result.rps} req/s, p50 ${result.p50} ms, p95 ${result.p95} ms, p99 ${result.p99} ms, errors ${result.errors + result.non2xx}`);
      }
    }

    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const summary = (name: string) => {
      const runs = results.get(name)!;
      return {
        rps: median(runs.map((run) => run.rps)),
        p50: median(runs.map((run) => run.p50)),
        p95: median(runs.map((run) => run.p95)),
        p99: median(runs.map((run) => run.p99)),
        errors: runs.reduce((sum, run) => sum + run.errors + run.non2xx, 0),
      };
    };
    const ours = summary(OURS.name);
    const stock = summary(STOCK.name);
    const ratio = ours.rps / stock.rps;
    const lines = [
      `Query: 50 products with price, rating and stock (catalog + inventory). ${ROUNDS} alternating rounds of ${SECONDS} s, ${CONNECTIONS} connections; gateways pinned to core 0, autocannon to core 1; medians of the rounds. Our router with SUBGRAPH_DEDUPE=${process.env.SUBGRAPH_DEDUPE ?? 'true'}.`,
      '',
      '| gateway | req/s | p50 ms | p95 ms | p99 ms | errors |',
      '|---|---|---|---|---|---|',
      `| ${OURS.name} | ${ours.rps} | ${ours.p50} | ${ours.p95} | ${ours.p99} | ${ours.errors} |`,
      `| ${STOCK.name} | ${stock.rps} | ${stock.p50} | ${stock.p95} | ${stock.p99} | ${stock.errors} |`,
      '',
      `Throughput ratio (ours / stock): ${ratio.toFixed(2)}; p99 ours ${ours.p99} ms vs stock ${stock.p99} ms. Target: ratio >= 1.3 with p99 <= stock: ${ratio >= 1.3 && ours.p99 <= stock.p99 ? 'met' : 'not met'}.`,
    ];
    console.log(lines.join('\n'));
    appendResults('bench:router', lines);
  } finally {
    await stopChildren(gateways);
    await stack.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
