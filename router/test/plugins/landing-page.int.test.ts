import { post, startCatalog, startRouter, type Catalog, type StartedRouter } from '../support/fixtures';
import { composeSupergraph } from '../support/subgraph';

const INTROSPECTION = '{ __schema { queryType { name } } }';

describe('landing-page plugin', () => {
  let catalog: Catalog;
  let development: StartedRouter;
  let production: StartedRouter;

  beforeAll(async () => {
    catalog = await startCatalog();
    const supergraphSdl = composeSupergraph([catalog]);
    development = await startRouter({ supergraphSdl, env: { NODE_ENV: 'development' } });
    production = await startRouter({ supergraphSdl, env: { NODE_ENV: 'production' } });
  });

  afterAll(async () => {
    await development?.router.close();
    await production?.router.close();
    await catalog?.close();
  });

  describe('development', () => {
    it.each(['/', '/graphql'])('serves Apollo Sandbox on GET %s for a browser, subscriptions on ws://…/graphql', async (pathname) => {
      const response = await fetch(`${development.origin}${pathname}`, { headers: { accept: 'text/html' } });
      const html = await response.text();

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/html');
      expect(html).toContain('embeddable-sandbox');
      expect(html).toContain(`var initialEndpoint = window.location.origin + '/graphql';`);
      expect(html).toContain(`var initialSubscriptionEndpoint = initialEndpoint.replace(/^http/, 'ws');`);
      expect(html).toMatch(/initialEndpoint,\s*initialSubscriptionEndpoint,\s*\}/);
      expect(html).toContain('"endpointIsEditable":false');
    });

    it('allows introspection', async () => {
      const { body } = await post(development.url, INTROSPECTION);
      expect(body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
    });
  });

  describe('production', () => {
    it('serves no landing page', async () => {
      const root = await fetch(`${production.origin}/`, { headers: { accept: 'text/html' } });
      expect(root.status).toBe(404);
      const graphql = await fetch(`${production.url}`, { headers: { accept: 'text/html' } });
      expect(graphql.headers.get('content-type')).not.toContain('text/html');
      expect(await graphql.text()).not.toContain('embeddable-sandbox');
    });

    it('refuses introspection', async () => {
      const { status, body } = await post(production.url, INTROSPECTION);
      expect(status).toBe(400);
      expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(body.errors?.[0]?.message).toContain('introspection');
    });

    it('still answers operations', async () => {
      const { body } = await post(production.url, '{ product(id: "p1") { name } }');
      expect(body).toEqual({ data: { product: { name: 'Product 1' } } });
    });
  });
});
