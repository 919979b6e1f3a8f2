import { post, startCatalog, startInventory, startRouter, type Catalog, type StartedRouter } from '../support/fixtures';
import { composeSupergraph, type TestSubgraph } from '../support/subgraph';

describe('request-id plugin', () => {
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

  it('echoes the caller’s x-request-id and forwards it to every subgraph it asks', async () => {
    const { headers, body } = await post(started.url, '{ products(first: 2) { id stock } }', { headers: { 'x-request-id': 'checkout-42' } });

    expect(body.errors).toBeUndefined();
    expect(headers.get('x-request-id')).toBe('checkout-42');
    expect(catalog.requests.map((request) => request.headers['x-request-id'])).toEqual(['checkout-42']);
    expect(inventory.requests.map((request) => request.headers['x-request-id'])).toEqual(['checkout-42']);
  });

  it('generates an id when there is none and uses it for the subgraphs too', async () => {
    const { headers } = await post(started.url, '{ product(id: "p1") { id } }');

    const id = headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(catalog.requests[0]!.headers['x-request-id']).toBe(id);
  });

  it('replaces an id that could break a header or a log line', async () => {
    const { headers } = await post(started.url, '{ product(id: "p1") { id } }', { headers: { 'x-request-id': 'a b"c' } });

    expect(headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(catalog.requests[0]!.headers['x-request-id']).toBe(headers.get('x-request-id'));
  });

  it('sets the header on non-GraphQL routes as well', async () => {
    const response = await fetch(`${started.origin}/health`, { headers: { 'x-request-id': 'probe-1' } });
    expect(response.headers.get('x-request-id')).toBe('probe-1');
  });
});
