import { captureLogs, post, startCatalog, startRouter, type Catalog, type StartedRouter } from '../support/fixtures';
import { composeSupergraph } from '../support/subgraph';

describe('error-masking plugin', () => {
  let catalog: Catalog;
  let started: StartedRouter;
  const logs = captureLogs();

  beforeAll(async () => {
    catalog = await startCatalog();
    started = await startRouter({ supergraphSdl: composeSupergraph([catalog]), log: logs.log });
  });

  afterAll(async () => {
    await started?.router.close();
    await catalog?.close();
  });

  it('passes a registry code from a subgraph through with the subgraph’s name', async () => {
    const { body } = await post(started.url, '{ failing(kind: "not-found") }');

    expect(body.data).toEqual({ failing: null });
    expect(body.errors).toEqual([{ message: 'Product p999 not found', path: ['failing'], extensions: { code: 'NOT_FOUND', id: 'p999', serviceName: 'catalog' } }]);
  });

  it('masks an internal subgraph error and logs it with the request id', async () => {
    const { body } = await post(started.url, '{ failing(kind: "internal") }', { headers: { 'x-request-id': 'mask-1' } });

    expect(body.errors).toEqual([{ message: 'Internal server error', path: ['failing'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
    expect(JSON.stringify(body)).not.toContain('hunter2');
    const logged = logs.lines.find((line) => line.requestId === 'mask-1' && line.msg === 'masked an unexpected error');
    expect(logged).toMatchObject({ level: 50, serviceName: 'catalog', message: 'connection to db-7 failed: password=hunter2' });
  });

  it('passes GraphQL validation errors of the client through', async () => {
    const { status, body } = await post(started.url, '{ nope }');

    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});
