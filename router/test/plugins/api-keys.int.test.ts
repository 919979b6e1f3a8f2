import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StartedRouter } from '../support/fixtures';
import { byHash, PRODUCTS, send, startPartnerSetup, type PartnerSetup } from '../support/partners';

describe('api-keys plugin', () => {
  let setup: PartnerSetup;
  let started: StartedRouter;

  beforeAll(async () => {
    setup = await startPartnerSetup();
    started = await setup.router();
  });

  afterAll(async () => {
    await setup?.close();
  });

  beforeEach(() => {
    setup.catalog.requests.length = 0;
    setup.inventory.requests.length = 0;
  });

  it('runs a manifest operation for an API key as its owner, trading the key for a token once', async () => {
    const partner = setup.exchange.add(['read']);
    const before = setup.exchange.calls();
    const answers = await Promise.all([1, 2, 3].map(() => send(started.url, byHash(PRODUCTS), { 'x-api-key': partner.key })));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ data: { products: [{ id: 'p1', stock: 10 }, { id: 'p2', stock: 20 }] } });
    }
    expect(setup.exchange.calls() - before).toBe(1);
    // Subgraphs get the owner's token, never the key.
    const forwarded = setup.catalog.requests.map((request) => request.headers.authorization as string);
    expect(forwarded.every((header) => header.startsWith('Bearer '))).toBe(true);
    expect(await setup.issuer.verifyToken(forwarded[0]!.slice('Bearer '.length))).toMatchObject({ id: partner.owner, role: 'PARTNER', apiKeyId: partner.id, scopes: ['read'] });
    expect(JSON.stringify(setup.catalog.requests.map((request) => request.headers))).not.toContain(partner.key);
  });

  it('answers 401 to an unknown key (asking users once for it) and 400 to a key next to a bearer token', async () => {
    const before = setup.exchange.calls();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const refused = await send(started.url, byHash(PRODUCTS), { 'x-api-key': 'mk_not-a-key' });
      expect(refused.status).toBe(401);
      expect(refused.body.errors![0]).toMatchObject({ message: 'The API key is not valid', extensions: { code: 'UNAUTHENTICATED' } });
    }
    expect(setup.exchange.calls() - before).toBe(1);

    const token = await setup.issuer.sign('user-1');
    const both = await send(started.url, byHash(PRODUCTS), { 'x-api-key': setup.exchange.add(['read']).key, authorization: `Bearer ${token}` });
    expect(both.status).toBe(400);
    expect(both.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(setup.catalog.requests).toHaveLength(0);
  });

  it('checks a key again once its cached token is API_KEY_CACHE_SECONDS old, so a revoked key stops working', async () => {
    const partner = setup.exchange.add(['read']);
    expect((await send(started.url, byHash(PRODUCTS), { 'x-api-key': partner.key })).status).toBe(200);
    setup.exchange.revoke(partner);
    // Within the default minute the router still uses the token it has.
    expect((await send(started.url, byHash(PRODUCTS), { 'x-api-key': partner.key })).status).toBe(200);

    const uncached = await setup.router({ API_KEY_CACHE_SECONDS: '0' });
    const other = setup.exchange.add(['read']);
    expect((await send(uncached.url, byHash(PRODUCTS), { 'x-api-key': other.key })).status).toBe(200);
    setup.exchange.revoke(other);
    const refused = await send(uncached.url, byHash(PRODUCTS), { 'x-api-key': other.key });
    expect(refused.status).toBe(401);
    expect(refused.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
  });

  it('answers 503 UPSTREAM_UNAVAILABLE while keys cannot be checked or their tokens do not verify', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    // users answering a token the router cannot verify is its fault, not the caller's.
    const broken = await send(started.url, byHash(PRODUCTS), { 'x-api-key': setup.exchange.add(['broken']).key });
    expect(broken.status).toBe(503);
    expect(broken.body.errors![0]!.extensions!.code).toBe('UPSTREAM_UNAVAILABLE');

    const isolated = await setup.router({ API_KEY_EXCHANGE_URL: `http://127.0.0.1:${port}/api-keys/token` });
    const answer = await send(isolated.url, byHash(PRODUCTS), { 'x-api-key': 'mk_any' });
    expect(answer.status).toBe(503);
    expect(answer.body.errors![0]!.extensions!.code).toBe('UPSTREAM_UNAVAILABLE');
  });
});
