import type { TokenVerifier } from '../../../subgraphs/kit/src/auth';
import { post, startCatalog, startInventory, startRouter, type Catalog, type StartedRouter } from '../support/fixtures';
import { composeSupergraph, type TestSubgraph } from '../support/subgraph';
import { createIssuer, type Issuer } from '../support/tokens';

describe('auth plugin', () => {
  let catalog: Catalog;
  let inventory: TestSubgraph;
  let issuer: Issuer;
  let started: StartedRouter;
  let verifications = 0;

  beforeAll(async () => {
    catalog = await startCatalog();
    inventory = await startInventory();
    issuer = await createIssuer();
    const counting: TokenVerifier = (token) => {
      verifications += 1;
      return issuer.verifyToken(token);
    };
    started = await startRouter({ supergraphSdl: composeSupergraph([catalog, inventory]), verifyToken: counting });
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

  const query = '{ products(first: 1) { id stock } }';

  it('lets an anonymous caller through without an authorization header downstream', async () => {
    const { status, body } = await post(started.url, query);

    expect(status).toBe(200);
    expect(body.data.products).toEqual([{ id: 'p1', stock: 10 }]);
    expect(catalog.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('forwards a valid token’s Authorization and the request id to every subgraph', async () => {
    const token = await issuer.sign('user-1', { role: 'TRADER' });
    const { status, body } = await post(started.url, query, { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'auth-1' } });

    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    for (const request of [...catalog.requests, ...inventory.requests]) {
      expect(request.headers.authorization).toBe(`Bearer ${token}`);
      expect(request.headers['x-request-id']).toBe('auth-1');
    }
    expect(catalog.requests).toHaveLength(1);
    expect(inventory.requests).toHaveLength(1);
  });

  it.each([
    ['a token signed by someone else', async () => `Bearer ${await (await createIssuer()).sign('user-1')}`],
    ['an expired token', async () => `Bearer ${await issuer.sign('user-1', { expiresAt: Math.floor(Date.now() / 1000) - 60 })}`],
    ['garbage', async () => 'Bearer not-a-jwt'],
    ['a header without the Bearer scheme', async () => 'Basic dXNlcjpwYXNz'],
  ])('answers 401 UNAUTHENTICATED to %s and asks no subgraph', async (_case, header) => {
    const { status, body } = await post(started.url, query, { headers: { authorization: await header() } });

    expect(status).toBe(401);
    expect(body.data).toBeUndefined();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.extensions).toEqual({ code: 'UNAUTHENTICATED' });
    expect(catalog.requests).toHaveLength(0);
  });

  it('verifies a token once while it is valid', async () => {
    const token = await issuer.sign('user-2');
    const before = verifications;
    await post(started.url, query, { headers: { authorization: `Bearer ${token}` } });
    await post(started.url, query, { headers: { authorization: `Bearer ${token}` } });

    expect(verifications - before).toBe(1);
  });
});
