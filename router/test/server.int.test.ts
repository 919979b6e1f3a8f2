import { post, startCatalog, startInventory, startRouter, type Catalog, type StartedRouter } from './support/fixtures';
import { composeSupergraph, type TestSubgraph } from './support/subgraph';

describe('router server', () => {
  let catalog: Catalog;
  let inventory: TestSubgraph;
  let started: StartedRouter;

  beforeAll(async () => {
    catalog = await startCatalog();
    inventory = await startInventory();
    started = await startRouter({ supergraphSdl: composeSupergraph([catalog, inventory]) });
  });

  afterAll(async () => {
    await started?.router.close();
    await catalog?.close();
    await inventory?.close();
  });

  beforeEach(() => {
    catalog.requests.length = 0;
    inventory.requests.length = 0;
  });

  it('answers a query across subgraphs with one fetch per subgraph', async () => {
    const { status, body } = await post(started.url, 'query Shelf($first: Int) { products(first: $first) { id name price stock } }', { variables: { first: 50 } });

    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.products).toHaveLength(50);
    expect(body.data.products[0]).toEqual({ id: 'p1', name: 'Product 1', price: 100, stock: 10 });
    expect(body.data.products[49]).toEqual({ id: 'p50', name: 'Product 50', price: 5000, stock: 500 });
    expect(catalog.requests).toHaveLength(1);
    expect(inventory.requests).toHaveLength(1);
    expect(inventory.requests[0]!.query).toContain('_entities');
    expect(inventory.requests[0]!.variables?.representations).toHaveLength(50);
  });

  it('routes to SUBGRAPH_URL_<NAME> instead of the supergraph URL', async () => {
    const unroutable = composeSupergraph([{ ...catalog, url: 'http://127.0.0.1:9/graphql' }, inventory]);
    const overridden = await startRouter({ supergraphSdl: unroutable, env: { SUBGRAPH_URL_CATALOG: catalog.url } });
    try {
      const { body } = await post(overridden.url, '{ product(id: "p3") { name } }');
      expect(body.data).toEqual({ product: { name: 'Product 3' } });
      expect(catalog.requests).toHaveLength(1);
    } finally {
      await overridden.router.close();
    }
  });

  it('asks only the subgraph that owns the fields', async () => {
    const { body } = await post(started.url, '{ product(id: "p2") { name } }');

    expect(body.data).toEqual({ product: { name: 'Product 2' } });
    expect(catalog.requests).toHaveLength(1);
    expect(inventory.requests).toHaveLength(0);
  });

  it('answers with compact JSON', async () => {
    const response = await fetch(started.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ product(id: "p1") { id } }' }) });
    expect(await response.text()).toBe('{"data":{"product":{"id":"p1"}}}');
  });

  describe('CSRF prevention', () => {
    it('refuses a GET without a preflight header', async () => {
      const response = await fetch(`${started.url}?query=${encodeURIComponent('{ product(id: "p1") { id } }')}`);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('Cross-Site Request Forgery');
      expect(catalog.requests).toHaveLength(0);
    });

    it('refuses a simple text/plain POST', async () => {
      const response = await fetch(started.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: '{ product(id: "p1") { id } }' }) });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('Cross-Site Request Forgery');
      expect(catalog.requests).toHaveLength(0);
    });

    it('accepts a GET that carries apollo-require-preflight', async () => {
      const response = await fetch(`${started.url}?query=${encodeURIComponent('{ product(id: "p1") { id } }')}`, { headers: { 'apollo-require-preflight': 'true' } });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ data: { product: { id: 'p1' } } });
    });
  });

  it('answers 400 BAD_REQUEST to a body that is not JSON', async () => {
    const response = await fetch(started.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_REQUEST');
  });

  it('answers 413 to a body over the limit', async () => {
    const response = await fetch(started.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ product(id: "${'x'.repeat(1_100_000)}") { id } }` }) });
    expect(response.status).toBe(413);
  });

  it('answers 404 elsewhere', async () => {
    const response = await fetch(`${started.origin}/nope`);
    expect(response.status).toBe(404);
  });
});
