import { post, startCatalog, startInventory, startRouter, type Catalog, type StartedRouter } from '../support/fixtures';
import { composeSupergraph, startTestSubgraph, type TestSubgraph } from '../support/subgraph';

/** A subgraph that is in the supergraph but not running. */
async function stoppedSubgraph(): Promise<TestSubgraph> {
  const reviews = await startTestSubgraph({ name: 'reviews', typeDefs: 'type Query { topReview: String }', resolvers: { Query: { topReview: () => 'great' } } });
  await reviews.close();
  return reviews;
}

/** The value of one sample line (`name{labels} value`) in a Prometheus text exposition. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([key, value]) => inside.includes(`${key}="${value}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('metrics plugin', () => {
  let catalog: Catalog;
  let inventory: TestSubgraph;
  let started: StartedRouter;

  beforeAll(async () => {
    catalog = await startCatalog();
    inventory = await startInventory();
    const down = await stoppedSubgraph();
    started = await startRouter({ supergraphSdl: composeSupergraph([catalog, inventory, down]) });
  });

  afterAll(async () => {
    await started?.router.close();
    await catalog?.close();
    await inventory?.close();
  });

  it('exposes request durations, operations and per-subgraph fetch durations and errors', async () => {
    await post(started.url, '{ products(first: 3) { id stock } }');
    await post(started.url, '{ failing(kind: "forbidden") }');
    await post(started.url, '{ topReview }');

    const response = await fetch(`${started.origin}/metrics`);
    const text = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    expect(sample(text, 'http_request_duration_seconds_count', { route: 'graphql', status: '200' })).toBe(3);
    expect(sample(text, 'graphql_operations_total', { operation: 'query', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'graphql_operations_total', { operation: 'query', outcome: 'error' })).toBe(2);
    expect(sample(text, 'subgraph_fetch_duration_seconds_count', { subgraph: 'catalog', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'subgraph_fetch_duration_seconds_count', { subgraph: 'inventory', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'subgraph_fetch_errors_total', { subgraph: 'catalog', outcome: 'graphql_error' })).toBe(1);
    expect(sample(text, 'subgraph_fetch_errors_total', { subgraph: 'reviews', outcome: 'unavailable' })).toBe(1);
    expect(text).toContain('process_cpu_seconds_total');
  });
});
