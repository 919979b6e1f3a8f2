import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { REDIS_URL } from '../../../subgraphs/kit/src/events/testing';
import type { PersistedQueryManifest } from '../../src/plugins/persisted-queries';
import { startCatalog, startInventory, startRouter, type Catalog, type StartedRouter } from '../support/fixtures';
import { composeSupergraph, type TestSubgraph } from '../support/subgraph';
import { createIssuer, type Issuer } from '../support/tokens';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const PRODUCTS = 'query PartnerProducts {\n  products(first: 2) {\n    id\n    stock\n  }\n}';
const RENAME = 'mutation PartnerRename {\n  renameProduct(id: "p1", name: "Renamed") {\n    id\n    name\n  }\n}';

interface PartnerKey {
  key: string;
  id: string;
  owner: string;
  scopes: string[];
}

/** Stands in for the users subgraph's `POST /api-keys/token`: trades known keys for tokens of the test issuer. */
async function startExchange(issuer: Issuer) {
  const keys = new Map<string, PartnerKey>();
  let calls = 0;
  const server = http.createServer((req, res) => {
    calls += 1;
    const known = keys.get(String(req.headers['x-api-key'] ?? ''));
    req.resume();
    req.on('end', async () => {
      if (req.method !== 'POST' || req.url !== '/api-keys/token' || !known) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'INVALID_API_KEY', message: 'The API key is not valid' }));
        return;
      }
      const expiresAt = Math.floor(Date.now() / 1000) + 300;
      const accessToken = await issuer.sign(known.owner, { role: 'PARTNER', scopes: known.scopes, apiKeyId: known.id, expiresAt });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accessToken, expiresAt: new Date(expiresAt * 1000).toISOString(), scopes: known.scopes }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api-keys/token`,
    calls: () => calls,
    add(scopes: string[]): PartnerKey {
      const key: PartnerKey = { key: `mk_${randomUUID()}`, id: randomUUID(), owner: `partner-${randomUUID()}`, scopes };
      keys.set(key.key, key);
      return key;
    },
    revoke(key: PartnerKey): void {
      keys.delete(key.key);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function send(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, any> }[] } };
}

const byHash = (query: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } });

describe('API keys, persisted queries and rate limits', () => {
  let catalog: Catalog;
  let inventory: TestSubgraph;
  let issuer: Issuer;
  let exchange: Awaited<ReturnType<typeof startExchange>>;
  let started: StartedRouter;
  let replica: StartedRouter;
  let redis: Redis;
  let manifestDir: string;

  beforeAll(async () => {
    catalog = await startCatalog();
    inventory = await startInventory();
    issuer = await createIssuer();
    exchange = await startExchange(issuer);
    redis = new Redis(REDIS_URL);
    manifestDir = mkdtempSync(path.join(tmpdir(), 'router-manifest-'));
    const manifest: PersistedQueryManifest = {
      format: 'apollo-persisted-query-manifest',
      version: 1,
      operations: [
        { id: sha256(PRODUCTS), name: 'PartnerProducts', type: 'query', body: PRODUCTS },
        { id: sha256(RENAME), name: 'PartnerRename', type: 'mutation', body: RENAME },
      ],
    };
    writeFileSync(path.join(manifestDir, 'manifest.json'), JSON.stringify(manifest));
    const env = {
      API_KEY_EXCHANGE_URL: exchange.url,
      PERSISTED_QUERIES_PATH: path.join(manifestDir, 'manifest.json'),
      RATE_LIMIT_API_KEY_PER_MINUTE: '5',
      RATE_LIMIT_USER_PER_MINUTE: '3',
    };
    const supergraphSdl = composeSupergraph([catalog, inventory]);
    started = await startRouter({ supergraphSdl, verifyToken: issuer.verifyToken, env });
    replica = await startRouter({ supergraphSdl, verifyToken: issuer.verifyToken, env });
  });

  afterAll(async () => {
    await replica?.router.close();
    await started?.router.close();
    await exchange?.close();
    await catalog?.close();
    await inventory?.close();
    redis?.disconnect();
    if (manifestDir) rmSync(manifestDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    catalog.requests.length = 0;
    inventory.requests.length = 0;
  });

  it('runs a manifest operation for an API key as its owner, trading the key for a token once', async () => {
    const partner = exchange.add(['read']);
    const before = exchange.calls();
    const answers = await Promise.all([1, 2, 3].map(() => send(started.url, byHash(PRODUCTS), { 'x-api-key': partner.key })));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ data: { products: [{ id: 'p1', stock: 10 }, { id: 'p2', stock: 20 }] } });
    }
    expect(exchange.calls() - before).toBe(1);
    // Subgraphs get the owner's token, never the key.
    const forwarded = catalog.requests.map((request) => request.headers.authorization as string);
    expect(forwarded.every((header) => header.startsWith('Bearer '))).toBe(true);
    expect(await issuer.verifyToken(forwarded[0]!.slice('Bearer '.length))).toMatchObject({ id: partner.owner, role: 'PARTNER', apiKeyId: partner.id, scopes: ['read'] });
    expect(JSON.stringify(catalog.requests.map((request) => request.headers))).not.toContain(partner.key);
  });

  it('refuses an API key any operation outside the manifest, and a mutation without the write scope', async () => {
    const reader = exchange.add(['read']);
    const adHoc = await send(started.url, { query: '{ products(first: 1) { id } }' }, { 'x-api-key': reader.key });
    expect(adHoc.status).toBe(403);
    expect(adHoc.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const readOnly = await send(started.url, byHash(RENAME), { 'x-api-key': reader.key });
    expect(readOnly.status).toBe(403);
    expect(readOnly.body.errors![0]).toMatchObject({ message: 'This API key has no write scope', extensions: { code: 'FORBIDDEN' } });
    expect(catalog.requests).toHaveLength(0);

    const writer = exchange.add(['read', 'write']);
    const renamed = await send(started.url, byHash(RENAME), { 'x-api-key': writer.key });
    expect(renamed.body).toEqual({ data: { renameProduct: { id: 'p1', name: 'Renamed' } } });
  });

  it('answers 401 to an unknown key (asking users once for it) and 400 to a key next to a bearer token', async () => {
    const before = exchange.calls();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const refused = await send(started.url, byHash(PRODUCTS), { 'x-api-key': 'mk_not-a-key' });
      expect(refused.status).toBe(401);
      expect(refused.body.errors![0]).toMatchObject({ message: 'The API key is not valid', extensions: { code: 'UNAUTHENTICATED' } });
    }
    expect(exchange.calls() - before).toBe(1);

    const token = await issuer.sign('user-1');
    const both = await send(started.url, byHash(PRODUCTS), { 'x-api-key': exchange.add(['read']).key, authorization: `Bearer ${token}` });
    expect(both.status).toBe(400);
    expect(both.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(catalog.requests).toHaveLength(0);
  });

  it('checks a key again once its cached token is API_KEY_CACHE_SECONDS old, so a revoked key stops working', async () => {
    const partner = exchange.add(['read']);
    expect((await send(started.url, byHash(PRODUCTS), { 'x-api-key': partner.key })).status).toBe(200);
    exchange.revoke(partner);
    // Within the default minute the router still uses the token it has.
    expect((await send(started.url, byHash(PRODUCTS), { 'x-api-key': partner.key })).status).toBe(200);

    const uncached = await startRouter({
      supergraphSdl: composeSupergraph([catalog, inventory]),
      verifyToken: issuer.verifyToken,
      env: { API_KEY_EXCHANGE_URL: exchange.url, PERSISTED_QUERIES_PATH: path.join(manifestDir, 'manifest.json'), API_KEY_CACHE_SECONDS: '0' },
    });
    try {
      const other = exchange.add(['read']);
      expect((await send(uncached.url, byHash(PRODUCTS), { 'x-api-key': other.key })).status).toBe(200);
      exchange.revoke(other);
      const refused = await send(uncached.url, byHash(PRODUCTS), { 'x-api-key': other.key });
      expect(refused.status).toBe(401);
      expect(refused.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    } finally {
      await uncached.router.close();
    }
  });

  it('answers 503 UPSTREAM_UNAVAILABLE while keys cannot be checked', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const isolated = await startRouter({
      supergraphSdl: composeSupergraph([catalog, inventory]),
      verifyToken: issuer.verifyToken,
      env: { API_KEY_EXCHANGE_URL: `http://127.0.0.1:${port}/api-keys/token`, PERSISTED_QUERIES_PATH: path.join(manifestDir, 'manifest.json') },
    });
    try {
      const answer = await send(isolated.url, byHash(PRODUCTS), { 'x-api-key': 'mk_any' });
      expect(answer.status).toBe(503);
      expect(answer.body.errors![0]!.extensions!.code).toBe('UPSTREAM_UNAVAILABLE');
    } finally {
      await isolated.router.close();
    }
  });

  it('limits requests per API key and per signed-in user with 429 and Retry-After, across replicas', async () => {
    const partner = exchange.add(['read']);
    const keyAnswers = [];
    // Five a minute per key, counted in Redis: the replica's requests count too.
    for (let index = 0; index < 6; index += 1) keyAnswers.push(await send(index % 2 === 0 ? started.url : replica.url, byHash(PRODUCTS), { 'x-api-key': partner.key }));
    expect(keyAnswers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = keyAnswers[5]!;
    expect(limited.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);

    const token = await issuer.sign(`user-${randomUUID()}`);
    const userAnswers = [];
    for (let index = 0; index < 4; index += 1) userAnswers.push(await send(started.url, { query: '{ products(first: 1) { id } }' }, { authorization: `Bearer ${token}` }));
    expect(userAnswers.map((answer) => answer.status)).toEqual([200, 200, 200, 429]);
    // Anonymous callers are not counted here.
    const anonymous = await Promise.all([1, 2, 3, 4].map(() => send(started.url, { query: '{ products(first: 1) { id } }' })));
    expect(anonymous.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
  });

  it('runs only manifest operations for everyone once the safelist is on', async () => {
    const safelisted = await startRouter({
      supergraphSdl: composeSupergraph([catalog, inventory]),
      verifyToken: issuer.verifyToken,
      env: { PERSISTED_QUERIES_PATH: path.join(manifestDir, 'manifest.json'), PERSISTED_QUERIES_SAFELIST: 'true' },
    });
    try {
      const token = await issuer.sign(`user-${randomUUID()}`);
      const adHoc = '{ products(first: 1) { id } }';
      for (const headers of [{}, { authorization: `Bearer ${token}` }] as Record<string, string>[]) {
        const refused = await send(safelisted.url, { query: adHoc }, headers);
        expect(refused.status).toBe(403);
        expect(refused.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
        // Registering it as an automatic persisted query does not get it through either.
        expect((await send(safelisted.url, { query: adHoc, ...byHash(adHoc) }, headers)).status).toBe(403);
      }
      expect(catalog.requests).toHaveLength(0);
      // A manifest operation, by id or by its exact text.
      expect((await send(safelisted.url, byHash(PRODUCTS))).body.data.products).toHaveLength(2);
      expect((await send(safelisted.url, { query: PRODUCTS }, { authorization: `Bearer ${token}` })).body.data.products).toHaveLength(2);
    } finally {
      await safelisted.router.close();
      await redis.del(`mercado:router:apq:apq:${sha256('{ products(first: 1) { id } }')}`);
    }
  });

  it('keeps serving while Redis is away: limits let requests through, APQ misses', async () => {
    const isolated = await startRouter({
      supergraphSdl: composeSupergraph([catalog, inventory]),
      verifyToken: issuer.verifyToken,
      env: { REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_USER_PER_MINUTE: '1', PERSISTED_QUERIES_PATH: path.join(manifestDir, 'manifest.json') },
    });
    try {
      const token = await issuer.sign(`user-${randomUUID()}`);
      const answers = await Promise.all([1, 2, 3].map(() => send(isolated.url, { query: '{ products(first: 1) { id } }' }, { authorization: `Bearer ${token}` })));
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
      const query = '{ products(first: 1) { name } }';
      expect((await send(isolated.url, { query, ...byHash(query) })).body.data).toEqual({ products: [{ name: 'Product 1' }] });
      expect((await send(isolated.url, byHash(query))).body.errors![0]!.extensions!.code).toBe('PERSISTED_QUERY_NOT_FOUND');
      // Manifest operations need no Redis.
      expect((await send(isolated.url, byHash(PRODUCTS))).body.data.products).toHaveLength(2);
    } finally {
      await isolated.router.close();
    }
  });

  it('shares automatic persisted queries between replicas through Redis, and never stores manifest operations there', async () => {
    const query = `{ products(first: 1) { id name } } # ${randomUUID()}`;
    const unknown = await send(started.url, byHash(query));
    expect(unknown.body.errors![0]!.extensions!.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const registered = await send(started.url, { query, ...byHash(query) });
    expect(registered.body.data).toEqual({ products: [{ id: 'p1', name: 'Product 1' }] });
    const onReplica = await send(replica.url, byHash(query));
    expect(onReplica.body).toEqual(registered.body);
    expect(await redis.exists(`mercado:router:apq:apq:${sha256(query)}`)).toBe(1);

    const manifestRun = await send(started.url, byHash(PRODUCTS));
    expect(manifestRun.body.data.products).toHaveLength(2);
    expect(await redis.exists(`mercado:router:apq:apq:${sha256(PRODUCTS)}`)).toBe(0);
    await redis.del(`mercado:router:apq:apq:${sha256(query)}`);
  });
});
