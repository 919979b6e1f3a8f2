import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { REDIS_URL } from '../../../subgraphs/kit/src/events/testing';
import type { StartedRouter } from '../support/fixtures';
import { byHash, PRODUCTS, RENAME, send, sha256, startPartnerSetup, type PartnerSetup } from '../support/partners';

describe('persisted-queries plugin', () => {
  let setup: PartnerSetup;
  let started: StartedRouter;
  let replica: StartedRouter;
  let redis: Redis;

  beforeAll(async () => {
    setup = await startPartnerSetup();
    started = await setup.router();
    replica = await setup.router();
    redis = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    redis?.disconnect();
    await setup?.close();
  });

  beforeEach(() => {
    setup.catalog.requests.length = 0;
    setup.inventory.requests.length = 0;
  });

  it('refuses an API key any operation outside the manifest, and a mutation without the write scope', async () => {
    const reader = setup.exchange.add(['read']);
    const adHoc = await send(started.url, { query: '{ products(first: 1) { id } }' }, { 'x-api-key': reader.key });
    expect(adHoc.status).toBe(403);
    expect(adHoc.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const readOnly = await send(started.url, byHash(RENAME), { 'x-api-key': reader.key });
    expect(readOnly.status).toBe(403);
    expect(readOnly.body.errors![0]).toMatchObject({ message: 'This API key has no write scope', extensions: { code: 'FORBIDDEN' } });
    expect(setup.catalog.requests).toHaveLength(0);

    const writer = setup.exchange.add(['read', 'write']);
    const renamed = await send(started.url, byHash(RENAME), { 'x-api-key': writer.key });
    expect(renamed.body).toEqual({ data: { renameProduct: { id: 'p1', name: 'Renamed' } } });
  });

  it('runs only manifest operations for everyone once the safelist is on', async () => {
    const safelisted = await setup.router({ PERSISTED_QUERIES_SAFELIST: 'true' });
    try {
      const token = await setup.issuer.sign(`user-${randomUUID()}`);
      const adHoc = '{ products(first: 1) { id } }';
      for (const headers of [{}, { authorization: `Bearer ${token}` }] as Record<string, string>[]) {
        const refused = await send(safelisted.url, { query: adHoc }, headers);
        expect(refused.status).toBe(403);
        expect(refused.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
        // Registering it as an automatic persisted query does not get it through either.
        expect((await send(safelisted.url, { query: adHoc, ...byHash(adHoc) }, headers)).status).toBe(403);
      }
      expect(setup.catalog.requests).toHaveLength(0);
      // A manifest operation, by id or by its exact text.
      expect((await send(safelisted.url, byHash(PRODUCTS))).body.data.products).toHaveLength(2);
      expect((await send(safelisted.url, { query: PRODUCTS }, { authorization: `Bearer ${token}` })).body.data.products).toHaveLength(2);
    } finally {
      await redis.del(`mercado:router:apq:apq:${sha256('{ products(first: 1) { id } }')}`);
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
