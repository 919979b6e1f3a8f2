import { once } from 'node:events';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readRouterConfig } from '../src/config';
import { createRouter } from '../src/server';
import { post, silentLog, startCatalog, startInventory, startRouter, withoutDescription, type Catalog, type StartedRouter } from './support/fixtures';
import { composeSupergraph, type TestSubgraph } from './support/subgraph';

/** Replaces the file the way a deploy does: write aside, then rename over it. */
async function replaceFile(file: string, text: string): Promise<void> {
  const aside = `${file}.${process.pid}.tmp`;
  await writeFile(aside, text);
  await rename(aside, file);
}

describe('supergraph file', () => {
  let catalog: Catalog;
  let inventory: TestSubgraph;
  let dir: string;
  let v1: string;
  let v2: string;
  const routers: StartedRouter[] = [];

  beforeAll(async () => {
    catalog = await startCatalog();
    inventory = await startInventory();
    dir = await mkdtemp(path.join(tmpdir(), 'router-supergraph-'));
    v1 = composeSupergraph([{ ...catalog, sdl: withoutDescription(catalog.sdl) }, inventory]);
    v2 = composeSupergraph([catalog, inventory]);
  });

  afterAll(async () => {
    for (const started of routers) await started.router.close();
    await catalog?.close();
    await inventory?.close();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    catalog.requests.length = 0;
    inventory.requests.length = 0;
  });

  async function routerOn(file: string): Promise<StartedRouter> {
    const started = await startRouter({ env: { SUPERGRAPH_PATH: file } });
    routers.push(started);
    return started;
  }

  it('starts on a supergraph file without contacting any subgraph', async () => {
    const file = path.join(dir, 'start.graphql');
    await writeFile(file, v2);
    const { url, router } = await routerOn(file);

    expect(catalog.requests).toHaveLength(0);
    expect(inventory.requests).toHaveLength(0);
    expect(router.supergraph()?.subgraphs.map((subgraph) => subgraph.name).sort()).toEqual(['catalog', 'inventory']);
    const { body } = await post(url, '{ products(first: 2) { id description stock } }');
    expect(body.data.products).toEqual([
      { id: 'p1', description: 'About product 1', stock: 10 },
      { id: 'p2', description: 'About product 2', stock: 20 },
    ]);
  });

  it('resolves SUPERGRAPH_PATH from the working directory', () => {
    expect(readRouterConfig({}, '/srv/app').supergraphPath).toBe('/srv/app/schema/supergraph.graphql');
  });

  it('refuses to start on a missing or invalid file, naming it', async () => {
    const missing = path.join(dir, 'missing.graphql');
    const config = (file: string) => readRouterConfig({ NODE_ENV: 'test', SUPERGRAPH_PATH: file });
    const verifyToken = async () => null as never;
    await expect(createRouter({ config: config(missing), log: silentLog(), verifyToken })).rejects.toThrow(missing);

    const invalid = path.join(dir, 'invalid.graphql');
    await writeFile(invalid, 'type Query { hello: String }');
    await expect(createRouter({ config: config(invalid), log: silentLog(), verifyToken })).rejects.toThrow();
  });

  it('picks up a changed file without a restart while an in-flight request completes', async () => {
    const file = path.join(dir, 'reload.graphql');
    await writeFile(file, v1);
    const { url, router } = await routerOn(file);
    const before = await post(url, '{ products(first: 1) { id description } }');
    expect(before.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    // A slow operation is inside the catalog when the supergraph changes.
    const slow = post(url, '{ slow }');
    await catalog.waitForRequests(1);

    const updated = once(router.events, 'supergraph-updated');
    await replaceFile(file, v2);
    await updated;

    const after = await post(url, '{ products(first: 1) { id description } }');
    expect(after.body).toEqual({ data: { products: [{ id: 'p1', description: 'About product 1' }] } });

    catalog.slow.resolve('finally');
    expect((await slow).body).toEqual({ data: { slow: 'finally' } });
  });

  it('keeps serving the previous supergraph when the file is half-written or invalid', async () => {
    const file = path.join(dir, 'broken.graphql');
    await writeFile(file, v1);
    const { url, router } = await routerOn(file);

    const rejected = once(router.events, 'supergraph-rejected');
    await replaceFile(file, v2.slice(0, Math.floor(v2.length / 2)));
    const [error] = (await rejected) as [Error];
    expect(error).toBeInstanceOf(Error);

    const during = await post(url, '{ products(first: 1) { id name } }');
    expect(during.body).toEqual({ data: { products: [{ id: 'p1', name: 'Product 1' }] } });

    const updated = once(router.events, 'supergraph-updated');
    await replaceFile(file, v2);
    await updated;
    const after = await post(url, '{ products(first: 1) { description } }');
    expect(after.body).toEqual({ data: { products: [{ description: 'About product 1' }] } });
  });
});
