import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types';
import { createPooledFetcher, createSubgraphAgent, SubgraphDataSource } from '../src/gateway';
import type { RouterPlugin, SubgraphRequestEvent } from '../src/plugins/types';
import { createIssuer, type Issuer } from './support/tokens';
import { post, silentLog, startCatalog, startInventory, startRouter, type Catalog, type StartedRouter } from './support/fixtures';
import { composeSupergraph, deferred, federated, startTestSubgraph, type TestSubgraph } from './support/subgraph';

/** Observes the datasource: `nextJoin(name)` resolves when a read on that subgraph next joins one in flight. */
function subgraphRequestProbe(): RouterPlugin & { nextJoin(serviceName: string): Promise<void> } {
  const waiters: { serviceName: string; resolve: () => void }[] = [];
  return {
    name: 'probe',
    onSubgraphRequest(event: SubgraphRequestEvent) {
      if (!event.deduplicated) return;
      for (const waiter of waiters.filter((candidate) => candidate.serviceName === event.serviceName)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    nextJoin(serviceName) {
      return new Promise((resolve) => waiters.push({ serviceName, resolve }));
    },
  };
}

describe('subgraph datasource', () => {
  let catalog: Catalog;
  let inventory: TestSubgraph;
  let issuer: Issuer;
  let started: StartedRouter;
  const probe = subgraphRequestProbe();

  beforeAll(async () => {
    catalog = await startCatalog();
    inventory = await startInventory();
    issuer = await createIssuer();
    started = await startRouter({ supergraphSdl: composeSupergraph([catalog, inventory]), verifyToken: issuer.verifyToken, plugins: [probe] });
  });

  afterAll(async () => {
    await started?.router.close();
    await catalog?.close();
    await inventory?.close();
  });

  beforeEach(() => {
    catalog.requests.length = 0;
    inventory.requests.length = 0;
    catalog.hold = null;
  });

  describe('in-flight deduplication', () => {
    it('sends two identical concurrent queries to the subgraph once', async () => {
      const gate = deferred();
      catalog.hold = gate.promise;
      const query = '{ products(first: 5) { id name stock } }';

      const first = post(started.url, query);
      await catalog.waitForRequests(1);
      const joined = probe.nextJoin('catalog');
      const second = post(started.url, query);
      await joined;
      gate.resolve();
      const [a, b] = await Promise.all([first, second]);

      expect(a.body.errors).toBeUndefined();
      expect(b.body).toEqual(a.body);
      expect(a.body.data.products).toHaveLength(5);
      expect(catalog.requests).toHaveLength(1);
      // Both continue from the shared answer together, so their entity reads coincide as well.
      expect(inventory.requests).toHaveLength(1);
    });

    it('gives each waiting operation its own parsed copy of the shared answer', async () => {
      const agent = createSubgraphAgent({ connectionsPerOrigin: 4 });
      const source = new SubgraphDataSource({ name: 'catalog', url: catalog.url, fetcher: createPooledFetcher(agent, 5_000), log: silentLog(), timeoutMs: 5_000, dedupe: true });
      const fetchProducts = () =>
        source.process({
          kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
          request: { query: '{products(first:2){id name}}', variables: {} },
          incomingRequestContext: { operation: { operation: 'query' }, context: { requestId: 'r1', viewer: null } } as never,
          context: {} as never,
        });
      try {
        const gate = deferred();
        catalog.hold = gate.promise;
        const first = fetchProducts();
        await catalog.waitForRequests(1);
        const second = fetchProducts();
        expect(source.inflightCount).toBe(1);
        gate.resolve();
        const [a, b] = await Promise.all([first, second]);

        expect(catalog.requests).toHaveLength(1);
        expect(a.data).toEqual(b.data);
        // The gateway merges entity fields into what it receives: a shared object would leak between operations.
        expect(a.data).not.toBe(b.data);
        expect(source.inflightCount).toBe(0);
      } finally {
        await agent.close();
      }
    });

    it('does not share reads between different callers', async () => {
      const gate = deferred();
      catalog.hold = gate.promise;
      const query = '{ products(first: 1) { id } }';
      const [alice, bob] = await Promise.all([issuer.sign('alice'), issuer.sign('bob')]);

      const first = post(started.url, query, { headers: { authorization: `Bearer ${alice}` } });
      await catalog.waitForRequests(1);
      const second = post(started.url, query, { headers: { authorization: `Bearer ${bob}` } });
      await catalog.waitForRequests(2);
      gate.resolve();
      await Promise.all([first, second]);

      expect(catalog.requests.map((request) => request.headers.authorization)).toEqual([`Bearer ${alice}`, `Bearer ${bob}`]);
    });

    it('never shares mutations', async () => {
      const gate = deferred();
      catalog.hold = gate.promise;
      const mutation = 'mutation { renameProduct(id: "p1", name: "Renamed") { id name } }';

      const first = post(started.url, mutation);
      await catalog.waitForRequests(1);
      const second = post(started.url, mutation);
      await catalog.waitForRequests(2);
      gate.resolve();
      const [a, b] = await Promise.all([first, second]);

      expect(a.body.data).toEqual({ renameProduct: { id: 'p1', name: 'Renamed' } });
      expect(b.body.data).toEqual({ renameProduct: { id: 'p1', name: 'Renamed' } });
      expect(catalog.requests).toHaveLength(2);
    });
  });

  describe('failures', () => {
    it('answers UPSTREAM_UNAVAILABLE with the subgraph name when a subgraph is down, and keeps serving', async () => {
      const down = await startInventory();
      await down.close();
      const router = await startRouter({ supergraphSdl: composeSupergraph([catalog, down]) });
      try {
        const { status, body } = await post(router.url, '{ products(first: 2) { id name stock } }');

        expect(status).toBe(200);
        expect(body.data).toBeNull();
        expect(body.errors).toEqual([
          { message: 'Subgraph inventory is unavailable', extensions: { code: 'UPSTREAM_UNAVAILABLE', serviceName: 'inventory', reason: 'connection refused' } },
        ]);
        const healthy = await post(router.url, '{ products(first: 1) { name } }');
        expect(healthy.body).toEqual({ data: { products: [{ name: 'Product 1' }] } });
      } finally {
        await router.router.close();
      }
    });

    it('passes a subgraph’s GraphQL error body through whatever the status, and refuses anything else', async () => {
      const answers = [
        { status: 502, type: 'text/html', body: '<html>Bad gateway</html>' },
        { status: 401, type: 'application/json', body: JSON.stringify({ errors: [{ message: 'Sign in first', extensions: { code: 'UNAUTHENTICATED' } }] }) },
        { status: 200, type: 'text/plain', body: 'ok' },
      ];
      const raw = http.createServer((req, res) => {
        req.resume();
        const answer = answers.shift()!;
        res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body);
      });
      await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(raw.address() as AddressInfo).port}/graphql`;
      const router = await startRouter({ supergraphSdl: composeSupergraph([{ name: 'legacy', url, sdl: federated('type Query { legacy: String }') }]) });
      try {
        const badGateway = await post(router.url, '{ legacy }');
        expect(badGateway.body.errors?.[0]).toEqual({ message: 'Subgraph legacy is unavailable', extensions: { code: 'UPSTREAM_UNAVAILABLE', serviceName: 'legacy', reason: 'HTTP 502' } });

        const unauthenticated = await post(router.url, '{ legacy }');
        expect(unauthenticated.body.errors?.[0]).toMatchObject({ message: 'Sign in first', extensions: { code: 'UNAUTHENTICATED', serviceName: 'legacy' } });

        const notJson = await post(router.url, '{ legacy }');
        expect(notJson.body.errors?.[0]?.extensions).toEqual({ code: 'UPSTREAM_UNAVAILABLE', serviceName: 'legacy', reason: 'non-JSON HTTP 200 response' });
      } finally {
        await router.router.close();
        raw.closeAllConnections();
        await new Promise<void>((resolve) => raw.close(() => resolve()));
      }
    });

    it('answers UPSTREAM_UNAVAILABLE when a subgraph does not answer in time', async () => {
      const never = deferred<string>();
      const stuck = await startTestSubgraph({ name: 'stuck', typeDefs: 'type Query { stuck: String }', resolvers: { Query: { stuck: () => never.promise } } });
      const router = await startRouter({ supergraphSdl: composeSupergraph([stuck]), env: { SUBGRAPH_TIMEOUT_MS: '100' } });
      try {
        const { body } = await post(router.url, '{ stuck }');
        expect(body.errors?.[0]?.extensions).toEqual({ code: 'UPSTREAM_UNAVAILABLE', serviceName: 'stuck', reason: 'timed out after 100 ms' });
        expect(body.errors?.[0]?.message).toBe('Subgraph stuck timed out after 100 ms');
      } finally {
        never.resolve('late');
        await router.router.close();
        await stuck.close();
      }
    });
  });
});
