import { startCatalog, startInventory, startRouter, type Catalog, type StartedRouter } from '../support/fixtures';
import { composeSupergraph, type TestSubgraph } from '../support/subgraph';

describe('health plugin', () => {
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

  it('answers /health while alive', async () => {
    const response = await fetch(`${started.origin}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', service: 'router' });
  });

  it('is ready when the supergraph is loaded and every subgraph answers /health', async () => {
    const response = await fetch(`${started.origin}/ready`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', supergraph: started.router.supergraph()!.id, subgraphs: { catalog: 'ok', inventory: 'ok' } });
    expect(catalog.requests).toHaveLength(0);
  });

  it('is not ready, naming the subgraph, when one is down', async () => {
    await inventory.close();
    const response = await fetch(`${started.origin}/ready`);
    const body = (await response.json()) as { status: string; subgraphs: Record<string, string> };

    expect(response.status).toBe(503);
    expect(body.status).toBe('not ready');
    expect(body.subgraphs.catalog).toBe('ok');
    expect(body.subgraphs.inventory).toMatch(/^failing: /);
  });
});
